"""`airflow.sensors.base`."""

from kairos_airflow._sensor import BaseSensorOperator, PokeReturnValue
