"""`BaseSensorOperator`: a sensor of the bundle defines `poke(context)`; the
worker calls it as Airflow does, every `poke_interval` seconds until it
returns something true (or a `PokeReturnValue` that is done) or `timeout`
passes; in `mode="reschedule"` one poke per attempt, the slot given back
between pokes."""

import datetime

from kairos_airflow._operator import BaseOperator


class PokeReturnValue:
    def __init__(self, is_done, xcom_value=None):
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self):
        return bool(self.is_done)


def seconds(value, default):
    """A duration given as seconds, a timedelta, or as a DAG file writes one."""
    if value is None:
        return default
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, dict) and "seconds" in value:
        return float(value["seconds"])
    return float(value)


class BaseSensorOperator(BaseOperator):
    _kairos_sensor = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.poke_interval = seconds(kwargs.get("poke_interval"), 60.0)
        self.timeout = seconds(kwargs.get("timeout"), 7 * 24 * 3600.0)
        self.max_wait = seconds(kwargs.get("max_wait"), None)
        self.mode = kwargs.get("mode", "poke")
        self.soft_fail = bool(kwargs.get("soft_fail", False))
        self.exponential_backoff = bool(kwargs.get("exponential_backoff", False))
        if self.mode not in ("poke", "reschedule"):
            raise ValueError("mode must be 'poke' or 'reschedule', not %r" % (self.mode,))

    def poke(self, context):
        raise NotImplementedError("%s does not define poke(context)" % type(self).__name__)

    def execute(self, context):
        raise NotImplementedError(
            "the worker pokes sensors itself (poke(context)); execute() is not called")
