"""`airflow.sensors`."""
