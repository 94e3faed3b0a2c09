"""`airflow.providers.standard.operators.python`."""

from kairos_airflow._operators import BranchPythonOperator, PythonOperator, ShortCircuitOperator
