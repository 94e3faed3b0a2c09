"""`airflow.operators.dummy` (Airflow 2)."""

from kairos_airflow._operators import DummyOperator, EmptyOperator
