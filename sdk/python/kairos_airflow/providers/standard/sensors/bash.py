"""`airflow.providers.standard.sensors.bash`."""

from kairos_airflow._operators import BashSensor
