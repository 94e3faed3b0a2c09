"""`airflow.sensors.python`."""

from kairos_airflow._operators import PythonSensor
