"""`airflow.operators` (Airflow 2 paths)."""
