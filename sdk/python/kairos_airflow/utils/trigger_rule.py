"""`airflow.utils.trigger_rule` (Airflow 2)."""

from kairos_airflow._trigger_rule import TriggerRule
