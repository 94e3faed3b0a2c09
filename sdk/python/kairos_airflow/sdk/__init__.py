"""`airflow.sdk` (Airflow 3)."""

from kairos_airflow._dag import DAG, dag
from kairos_airflow._groups import TaskGroup
from kairos_airflow._operator import BaseOperator, chain, cross_downstream
from kairos_airflow._taskflow import task

from kairos_airflow._context import get_current_context
