"""Kairos's Python runner: calls one function from a DAG's Python file, the way
Airflow's PythonOperator would, without Airflow installed.

Usage: python runner.py SPEC.json

SPEC names the file and function, the rendered op_args / op_kwargs /
templates_dict, the template context (plain JSON; dates as ISO strings) and where
to write the result. The function gets op_args positionally, op_kwargs by name,
and, like Airflow, the context entries its signature asks for (all of them when
it takes **kwargs). The return value is written as JSON to the result file.
Exit codes: 0 done, 1 the function raised (or the file did not load), 98 the
result is not JSON, 99 skipped (AirflowSkipException, ours or Airflow's).
"""

import datetime
import importlib.util
import inspect
import json
import os
import sys
import traceback
import types


class AirflowException(Exception):
    pass


class AirflowSkipException(AirflowException):
    pass


class AirflowFailException(AirflowException):
    pass


def install_airflow_shim():
    """Lets `from airflow.exceptions import AirflowSkipException` work without Airflow.

    Returns the skip exception classes to honour: ours, and Airflow's when installed.
    """
    try:
        import airflow.exceptions
        return (AirflowSkipException, airflow.exceptions.AirflowSkipException)
    except ImportError:
        pass
    airflow = types.ModuleType("airflow")
    exceptions = types.ModuleType("airflow.exceptions")
    exceptions.AirflowException = AirflowException
    exceptions.AirflowSkipException = AirflowSkipException
    exceptions.AirflowFailException = AirflowFailException
    airflow.exceptions = exceptions
    sys.modules.setdefault("airflow", airflow)
    sys.modules.setdefault("airflow.exceptions", exceptions)
    return (AirflowSkipException,)


class TaskInstance:
    """The `ti` a callable sees: ids, and xcom_push into $KAIROS_XCOM_FILE."""

    def __init__(self, ctx):
        self.dag_id = ctx.get("dag_id")
        self.task_id = ctx.get("task_id")
        self.run_id = ctx.get("run_id")
        self.try_number = ctx.get("try_number")
        self.map_index = ctx.get("map_index")

    def xcom_push(self, key, value):
        path = os.environ.get("KAIROS_XCOM_FILE")
        if not path:
            raise RuntimeError("KAIROS_XCOM_FILE is not set")
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"key": key, "value": value}) + "\n")

    def __repr__(self):
        return "<TaskInstance: %s.%s %s [try %s]>" % (
            self.dag_id, self.task_id, self.run_id, self.try_number)


def context_of(spec):
    ctx = dict(spec.get("context") or {})
    for key in ("logical_date", "data_interval_start", "data_interval_end", "run_after"):
        if ctx.get(key):
            ctx[key] = datetime.datetime.fromisoformat(ctx[key])
    ctx["dag_run"] = types.SimpleNamespace(
        dag_id=ctx.get("dag_id"),
        run_id=ctx.get("run_id"),
        run_type=ctx.get("run_type"),
        conf=ctx.pop("run_conf", None) or {},
        logical_date=ctx.get("logical_date"),
        data_interval_start=ctx.get("data_interval_start"),
        data_interval_end=ctx.get("data_interval_end"),
    )
    ti = TaskInstance(ctx)
    ctx["ti"] = ti
    ctx["task_instance"] = ti
    ctx["templates_dict"] = spec.get("templates_dict")
    return ctx


def load(path, name):
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    module_name = os.path.splitext(os.path.basename(path))[0]
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    loader_spec.loader.exec_module(module)
    fn = getattr(module, name, None)
    if fn is None or not callable(fn):
        raise AttributeError("%s defines no function `%s`" % (path, name))
    return fn


def arguments(fn, op_args, op_kwargs, ctx):
    """Airflow's KeywordParameters.determine: op_kwargs are merged into the
    context; a callable with **kwargs gets all of it, any other only the names its
    signature has (minus those op_args already fill)."""
    merged = dict(ctx)
    merged.update(op_kwargs)
    params = list(inspect.signature(fn).parameters.values())
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params):
        return merged
    positional = [p for p in params if p.kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    taken = {p.name for p in positional[:len(op_args)]}
    return {
        p.name: merged[p.name]
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name in merged and p.name not in taken
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    skips = install_airflow_shim()
    ctx = context_of(spec)
    fn = load(spec["file"], spec["name"])
    op_args = spec.get("op_args") or []
    kwargs = arguments(fn, op_args, spec.get("op_kwargs") or {}, ctx)
    print("kairos: calling %s(%s)" % (spec["name"], ", ".join(
        [repr(a) for a in op_args] + ["%s=..." % k for k in sorted(kwargs)])), flush=True)
    try:
        result = fn(*op_args, **kwargs)
    except skips as e:
        print("kairos: skipped: %s" % e, flush=True)
        return 99
    except Exception:
        traceback.print_exc()
        return 1
    try:
        encoded = json.dumps({"return_value": result}, allow_nan=False)
    except (TypeError, ValueError) as e:
        print("kairos: the return value is not JSON-serializable: %s" % e, file=sys.stderr)
        return 98
    with open(spec["result"], "w", encoding="utf-8") as f:
        f.write(encoded)
    if spec.get("show_return_value", True):
        print("kairos: returned %s" % encoded[len('{"return_value": '):-1][:1000], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
