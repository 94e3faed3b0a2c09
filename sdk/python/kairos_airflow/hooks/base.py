"""`airflow.hooks.base`."""

from kairos_airflow._connections import BaseHook
