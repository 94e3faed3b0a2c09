"""`airflow.providers.standard.operators.trigger_dagrun`."""

from kairos_airflow._operators import TriggerDagRunOperator
