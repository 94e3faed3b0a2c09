"""`airflow.task`."""
