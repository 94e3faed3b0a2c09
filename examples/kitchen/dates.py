"""Dates the DAG files share (a module of the DAGs folder, imported as in
Airflow's: the folder given to `kairos dev` is first on the import path)."""

from datetime import datetime, timezone

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
