"""`airflow.models`."""

from kairos_airflow._dag import DAG
from kairos_airflow._operator import BaseOperator
from kairos_airflow._connections import Connection
from kairos_airflow._variables import Variable
from kairos_airflow._params import Param
