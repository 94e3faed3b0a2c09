"""`airflow.providers.standard.operators.empty`."""

from kairos_airflow._operators import EmptyOperator
