"""`airflow.sdk.bases.hook`."""

from kairos_airflow._connections import BaseHook
