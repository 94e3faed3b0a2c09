"""`airflow.providers.http.operators.http`."""

from kairos_airflow._operators import HttpOperator, SimpleHttpOperator
