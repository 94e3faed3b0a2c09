"""`airflow.models.variable`."""

from kairos_airflow._variables import Variable
