"""`airflow.sdk.bases.operator`."""

from kairos_airflow._operator import BaseOperator, chain, cross_downstream
