"""`airflow.sensors.external_task`."""

from kairos_airflow._operators import ExternalTaskSensor
