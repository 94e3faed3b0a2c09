"""`airflow.providers.standard.sensors`."""
