"""`airflow.providers`: the standard provider only."""
