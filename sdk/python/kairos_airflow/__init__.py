"""Airflow's DAG-authoring names for Kairos (served as `airflow` while Kairos
evaluates a DAG file; see `_alias`)."""

from kairos_airflow._dag import DAG, dag
from kairos_airflow._operator import BaseOperator, chain, cross_downstream

__all__ = ["DAG", "dag", "BaseOperator", "chain", "cross_downstream"]
