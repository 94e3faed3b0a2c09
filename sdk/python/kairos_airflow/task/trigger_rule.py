"""`airflow.task.trigger_rule` (Airflow 3)."""

from kairos_airflow._trigger_rule import TriggerRule
