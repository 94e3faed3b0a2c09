"""`airflow.sensors.bash`."""

from kairos_airflow._operators import BashSensor
