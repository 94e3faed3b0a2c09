"""`Variable`: `Variable.get` and `Variable.set` in task code, as Airflow's.
`AIRFLOW_VAR_<KEY>` in the task's environment wins, as Airflow's environment
secrets backend does; else the cluster's Variable of the DAG's team (then the
cluster-wide one) is read through the worker, under the attempt's credentials."""

import json
import os

from kairos_airflow import _task_api

_NOTSET = object()


class Variable:
    def __init__(self, key=None, val=None, description=None):
        self.key = key
        self.val = val
        self.description = description

    @classmethod
    def get(cls, key, default_var=_NOTSET, deserialize_json=False, default=_NOTSET):
        if default is not _NOTSET:  # Airflow 3's name of default_var
            default_var = default
        value = os.environ.get("AIRFLOW_VAR_" + str(key).upper())
        if value is None:
            found = _task_api.call("variable.get", key=str(key))
            value = found.get("value") if found.get("found") else None
        if value is None:
            if default_var is not _NOTSET:
                return default_var
            raise KeyError("Variable %s does not exist" % key)
        return json.loads(value) if deserialize_json else value

    @classmethod
    def set(cls, key, value, description=None, serialize_json=False):
        text = json.dumps(value, indent=2) if serialize_json else str(value)
        _task_api.call("variable.set", key=str(key), value=text, description=description)

    @classmethod
    def setdefault(cls, key, default, description=None, deserialize_json=False):
        value = cls.get(key, default_var=None, deserialize_json=deserialize_json)
        if value is None:
            if default is None:
                raise ValueError("Variable.setdefault needs a default that is not None")
            cls.set(key, default, description=description, serialize_json=deserialize_json)
            return default
        return value
