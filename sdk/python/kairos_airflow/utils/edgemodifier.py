"""`airflow.utils.edgemodifier`."""

from kairos_airflow._labels import Label
