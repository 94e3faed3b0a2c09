"""`airflow.operators.bash`."""

from kairos_airflow._operators import BashOperator
