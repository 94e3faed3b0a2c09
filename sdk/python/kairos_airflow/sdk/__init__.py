"""`airflow.sdk` (Airflow 3)."""

from kairos_airflow._assets import Asset, AssetAlias
from kairos_airflow._connections import BaseHook, Connection
from kairos_airflow._context import get_current_context
from kairos_airflow._dag import DAG, dag
from kairos_airflow._groups import TaskGroup
from kairos_airflow._labels import Label
from kairos_airflow._operator import BaseOperator, chain, cross_downstream
from kairos_airflow._params import Param, ParamsDict
from kairos_airflow._sensor import BaseSensorOperator, PokeReturnValue
from kairos_airflow._taskflow import task
from kairos_airflow._trigger_rule import TriggerRule
from kairos_airflow._variables import Variable

# The context task code gets: a mapping.
Context = dict
