"""`airflow.sdk.bases.sensor`."""

from kairos_airflow._sensor import BaseSensorOperator, PokeReturnValue
