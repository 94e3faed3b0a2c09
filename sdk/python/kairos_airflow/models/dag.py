"""`airflow.models.dag`."""

from kairos_airflow._dag import DAG
