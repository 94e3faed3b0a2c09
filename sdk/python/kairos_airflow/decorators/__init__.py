"""`airflow.decorators` (Airflow 2)."""

from kairos_airflow._dag import dag
from kairos_airflow._taskflow import task
