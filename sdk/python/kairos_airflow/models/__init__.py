"""`airflow.models`."""

from kairos_airflow._dag import DAG
from kairos_airflow._operator import BaseOperator
