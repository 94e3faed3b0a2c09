"""`airflow.sensors.date_time`."""

from kairos_airflow._operators import DateTimeSensor, DateTimeSensorAsync
