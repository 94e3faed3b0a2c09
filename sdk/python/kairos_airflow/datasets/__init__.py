"""`airflow.datasets` (Airflow 2)."""

from kairos_airflow._assets import Dataset, DatasetAlias
