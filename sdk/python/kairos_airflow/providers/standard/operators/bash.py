"""`airflow.providers.standard.operators.bash`."""

from kairos_airflow._operators import BashOperator
