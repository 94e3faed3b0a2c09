"""`var` and `conn` of a task's context, as Airflow's: `var.value.KEY`,
`var.json.KEY`, `var.value.get("KEY", default)`, `conn.ID` (a Connection),
`conn.get("ID")`; each read goes to the cluster through the worker when it is
made."""

from kairos_airflow._connections import BaseHook
from kairos_airflow._variables import _NOTSET, Variable


class VariableAccessor:
    def __init__(self, deserialize_json):
        self._json = deserialize_json

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key, default_var=_NOTSET):
        return Variable.get(key, default_var=default_var, deserialize_json=self._json)


class VariablesAccessor:
    def __init__(self):
        self.value = VariableAccessor(False)
        self.json = VariableAccessor(True)


class ConnectionAccessor:
    def __getattr__(self, conn_id):
        if conn_id.startswith("__"):
            raise AttributeError(conn_id)
        return BaseHook.get_connection(conn_id)

    def get(self, conn_id, default_conn=None):
        try:
            return BaseHook.get_connection(conn_id)
        except KeyError:
            return default_conn
