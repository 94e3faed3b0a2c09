"""`airflow.models.connection`."""

from kairos_airflow._connections import Connection
