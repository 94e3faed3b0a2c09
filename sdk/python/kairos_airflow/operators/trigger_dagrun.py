"""`airflow.operators.trigger_dagrun`."""

from kairos_airflow._operators import TriggerDagRunOperator
