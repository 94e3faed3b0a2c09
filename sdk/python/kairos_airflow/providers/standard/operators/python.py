"""`airflow.providers.standard.operators.python`."""

from kairos_airflow._operators import BranchPythonOperator, PythonOperator, ShortCircuitOperator

from kairos_airflow._context import get_current_context
