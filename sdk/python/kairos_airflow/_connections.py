"""`Connection` and `BaseHook.get_connection`: `AIRFLOW_CONN_<ID>` in the
task's environment wins (a URI or JSON, as Airflow reads it); else the
cluster's connection of the DAG's team (then the cluster-wide one) is read
through the worker, under the attempt's credentials. Passwords read are
masked in the task's log by the worker."""

import json
import os
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from kairos_airflow import _task_api


class Connection:
    def __init__(self, conn_id=None, conn_type=None, description=None, host=None,
                 login=None, password=None, schema=None, port=None, extra=None, uri=None):
        self.conn_id = conn_id
        self.conn_type = conn_type
        self.description = description
        self.host = host
        self.login = login
        self.password = password
        self.schema = schema
        self.port = port
        if isinstance(extra, dict):
            extra = json.dumps(extra)
        self.extra = extra
        if uri:
            self._parse(uri)

    def _parse(self, uri):
        scheme, rest = uri.split("://", 1) if "://" in uri else (uri, "")
        self.conn_type = scheme.replace("-", "_")
        parts = urlsplit("//" + rest)
        self.host = unquote(parts.hostname) if parts.hostname else None
        self.schema = unquote(parts.path[1:]) if parts.path else None
        self.login = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.port = parts.port
        if parts.query:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if set(query) == {"__extra__"}:
                self.extra = query["__extra__"]
            else:
                self.extra = json.dumps(query)

    @property
    def extra_dejson(self):
        if not self.extra:
            return {}
        try:
            value = json.loads(self.extra)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def get_uri(self):
        uri = "%s://" % (self.conn_type or "").replace("_", "-")
        if self.login or self.password:
            uri += quote(self.login or "", safe="")
            if self.password:
                uri += ":" + quote(self.password, safe="")
            uri += "@"
        uri += quote(self.host or "", safe="")
        if self.port:
            uri += ":%s" % self.port
        if self.schema:
            uri += "/" + quote(self.schema, safe="")
        if self.extra_dejson:
            from urllib.parse import urlencode
            uri += "?" + urlencode(self.extra_dejson)
        return uri

    def __repr__(self):
        return self.conn_id or ""

    @classmethod
    def get_connection_from_secrets(cls, conn_id):
        return BaseHook.get_connection(conn_id)

    @classmethod
    def from_json(cls, value, conn_id=None):
        fields = json.loads(value)
        fields.pop("conn_id", None)
        return cls(conn_id=conn_id, **fields)


def _from_env(conn_id):
    value = os.environ.get("AIRFLOW_CONN_" + conn_id.upper())
    if not value:
        return None
    if value.lstrip().startswith("{"):
        return Connection.from_json(value, conn_id=conn_id)
    return Connection(conn_id=conn_id, uri=value)


class BaseHook:
    """Airflow's `BaseHook`: what a hook of the bundle derives from."""

    def __init__(self, *args, **kwargs):
        pass

    @classmethod
    def get_connection(cls, conn_id):
        found = _from_env(conn_id)
        if found is not None:
            return found
        answer = _task_api.call("connection.get", conn_id=conn_id)
        if not answer.get("found"):
            raise KeyError("The conn_id `%s` isn't defined" % conn_id)
        fields = answer["connection"]
        return Connection(
            conn_id=conn_id,
            conn_type=fields.get("conn_type"),
            description=fields.get("description"),
            host=fields.get("host"),
            login=fields.get("login"),
            password=fields.get("password"),
            schema=fields.get("schema"),
            port=fields.get("port"),
            extra=fields.get("extra"),
        )

    def get_conn(self):
        raise NotImplementedError("%s does not define get_conn()" % type(self).__name__)
