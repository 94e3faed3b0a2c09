"""`airflow.models.param`."""

from kairos_airflow._params import Param, ParamsDict
