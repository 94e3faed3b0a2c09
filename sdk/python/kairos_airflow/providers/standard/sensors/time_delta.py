"""`airflow.providers.standard.sensors.time_delta`."""

from kairos_airflow._operators import TimeDeltaSensor, TimeDeltaSensorAsync
