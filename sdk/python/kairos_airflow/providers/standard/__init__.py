"""`airflow.providers.standard` (Airflow 3)."""
