"""Kairos's Python runner: calls one function from a DAG's Python file or from a
module of the DAG's bundle, the way Airflow's PythonOperator would, or runs a
custom operator (or sensor) class; without Airflow installed (the kairos_airflow
package written beside it serves `import airflow`, see SPEC's `sdk`), or with it
when the environment has it.

Usage: python runner.py SPEC.json

SPEC's `sys_path` (the bundle version's root) goes first on sys.path before
anything is imported; the working directory is left as it is. SPEC's `mode`:

- "call" (the default): `file` or `module` and `name` name the function; the
  rendered op_args / op_kwargs / templates_dict, the template context (plain
  JSON; dates as ISO strings). The function gets op_args positionally, op_kwargs
  by name, and, like Airflow, the context entries its signature asks for (all of
  them when it takes **kwargs).
- "template_fields": `class` is imported and constructed with `args` (as
  written, unrendered, as Airflow constructs it); the result is its
  `template_fields` and the JSON value of each of those attributes, which the
  worker renders with its own Jinja context.
- "execute": `class` is constructed again with `args`, the rendered `rendered`
  attributes are set on it, and `execute(context)` is called.
- "poke": the same, then one `poke(context)` of a sensor; the result is
  `{"done": ..., "xcom_value": ...}`.
- "callbacks": each of `callbacks` (`file` or `module`, `name`, `kwargs`) is
  called with the context (plus `exception` after a failure); exit 1 when any
  raised.

The return value is written as JSON to the result file. Exit codes: 0 done, 1
the function raised (or the file, module or class did not load), 98 the result
is not JSON, 99 skipped (AirflowSkipException, ours or Airflow's), 97 failed for
good (AirflowFailException: no retry).
"""

import datetime
import importlib
import importlib.util
import inspect
import json
import logging
import os
import sys
import traceback
import types


def _is_alias(key):
    return type(key).__name__ in ("AssetAlias", "DatasetAlias")


class _OutletEventAccessor:
    def __init__(self, key):
        self.key = key
        self.extra = {}
        self.added = []

    def add(self, asset, extra=None):
        """An event of `asset` through this alias."""
        if not self.key[0] == "alias":
            raise TypeError("add() is for an AssetAlias's events; set .extra on an asset's")
        uri = asset if isinstance(asset, str) else getattr(asset, "uri", None)
        if not uri:
            raise TypeError("add() takes an Asset (or its URI), not %r" % (asset,))
        self.added.append((uri, dict(extra or {})))


class OutletEvents:
    """Airflow's `outlet_events`: `outlet_events[asset].extra = {...}` gives the
    event of an outlet asset its extra; `outlet_events[alias].add(asset,
    extra=...)` adds an event through an outlet alias. What was set is written
    to $KAIROS_OUTLET_EVENTS_FILE when the task succeeds."""

    def __init__(self):
        self._accessors = {}

    def __getitem__(self, key):
        if _is_alias(key):
            k = ("alias", key.name)
        elif isinstance(key, str):
            k = ("asset", key)
        elif getattr(key, "uri", None):
            k = ("asset", key.uri)
        else:
            raise KeyError("outlet_events[%r]: give an Asset, an AssetAlias or a URI" % (key,))
        return self._accessors.setdefault(k, _OutletEventAccessor(k))

    def flush(self):
        path = os.environ.get("KAIROS_OUTLET_EVENTS_FILE")
        lines = []
        for (kind, name), accessor in self._accessors.items():
            if kind == "asset" and accessor.extra:
                lines.append({"uri": name, "extra": accessor.extra})
            for uri, extra in accessor.added:
                lines.append({"uri": uri, "alias": name, "extra": extra})
        if lines and path:
            with open(path, "a", encoding="utf-8") as f:
                for line in lines:
                    f.write(json.dumps(line) + "\n")


def install_airflow_names():
    """Serves `import airflow` from the kairos_airflow package beside this
    runner (Variable, BaseHook, BaseOperator, BaseSensorOperator, the
    exceptions, get_current_context, and the names DAG files import), unless
    this Python has a real Airflow, whose own modules are then used.

    Returns (the skip exceptions to honour, the fail-for-good ones): ours, and
    Airflow's when installed."""
    from kairos_airflow import _runtime, exceptions as ours
    _runtime.install()
    import airflow.exceptions as theirs
    return ((ours.AirflowSkipException, theirs.AirflowSkipException),
            (ours.AirflowFailException, theirs.AirflowFailException))


def current_contexts():
    """The stack get_current_context() reads."""
    from kairos_airflow import _context
    return _context.CURRENT


class TaskInstance:
    """The `ti` task code sees: ids, xcom_push into $KAIROS_XCOM_FILE, and
    xcom_pull: the `return_value` of direct upstream tasks was fetched with
    the call; any other XCom is asked of the cluster through the worker."""

    def __init__(self, ctx, upstream, xcoms):
        self.dag_id = ctx.get("dag_id")
        self.task_id = ctx.get("task_id")
        self.run_id = ctx.get("run_id")
        self.try_number = ctx.get("try_number")
        self.map_index = ctx.get("map_index")
        self._upstream = list(upstream or [])
        self._xcoms = dict(xcoms or {})

    def xcom_pull(self, task_ids=None, dag_id=None, key="return_value",
                  include_prior_dates=False, map_indexes=None, **kwargs):
        """One value for a task id, a list for a list of them; None for a task
        that pushed none, as Airflow."""
        if task_ids is None or include_prior_dates:
            raise RuntimeError(
                "Kairos's ti.xcom_pull needs task_ids, and reads this run's XComs only "
                "(include_prior_dates is not supported)")
        key = key or "return_value"
        one = isinstance(task_ids, str)
        ids = [task_ids] if one else list(task_ids)
        values = [self._pull(t, dag_id, key, map_indexes) for t in ids]
        return values[0] if one else values

    def _pull(self, task_id, dag_id, key, map_index):
        if (key == "return_value" and map_index is None and dag_id in (None, self.dag_id)
                and task_id in self._upstream):
            return self._xcoms.get(task_id)
        from kairos_airflow import _task_api
        answer = _task_api.call("xcom.pull", dag_id=dag_id or self.dag_id, task_id=task_id,
                                key=key, map_index=-1 if map_index is None else map_index)
        return answer.get("value") if answer.get("found") else None

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
    # Airflow's `dag` is the DAG object; what a callable reads of it most is its id.
    ctx.setdefault("dag", types.SimpleNamespace(dag_id=ctx.get("dag_id")))
    # Airflow's `var` and `conn`: read when used, through the worker.
    from kairos_airflow import _accessors
    ctx["var"] = _accessors.VariablesAccessor()
    ctx["conn"] = _accessors.ConnectionAccessor()
    ti = TaskInstance(ctx, spec.get("xcom_upstream"), spec.get("xcoms"))
    ctx["outlet_events"] = OutletEvents()
    ctx["ti"] = ti
    ctx["task_instance"] = ti
    ctx["templates_dict"] = spec.get("templates_dict")
    return ctx


def import_module(module_name, what):
    """Imports a module from sys.path; an ImportError says which module, where
    Python looked and why."""
    try:
        return importlib.import_module(module_name)
    except ImportError as e:
        print("kairos: cannot import module `%s` (for %s): %s: %s\n"
              "kairos: sys.path was: %s" % (
                  module_name, what, type(e).__name__, e, json.dumps(sys.path)),
              file=sys.stderr, flush=True)
        raise


def load(spec):
    name = spec["name"]
    if spec.get("module"):
        module = import_module(spec["module"], "%s.%s" % (spec["module"], name))
        where = "module `%s`" % spec["module"]
    else:
        path = spec["file"]
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        module_name = os.path.splitext(os.path.basename(path))[0]
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        loader_spec.loader.exec_module(module)
        where = path
    # A @task function unwrapped; one defined inside a @dag function exists
    # once the file has made its DAG.
    from kairos_airflow import _runtime
    fn = _runtime.function(module, name)
    if fn is None or not callable(fn):
        raise AttributeError("%s defines no function `%s`" % (where, name))
    return fn


def load_class(path):
    module_name, _, class_name = path.rpartition(".")
    module = import_module(module_name, path)
    cls = getattr(module, class_name, None)
    if cls is None or not isinstance(cls, type):
        raise AttributeError("module `%s` defines no class `%s`" % (module_name, class_name))
    return cls


# BaseOperator settings a custom operator's constructor gets, when it takes them.
BASE_KWARGS = ("owner", "retries", "queue", "pool", "do_xcom_push", "params")


def construct(spec):
    """The custom operator, built as Airflow builds it: task_id, the task's
    arguments as written, and the BaseOperator settings its constructor takes."""
    cls = load_class(spec["class"])
    kwargs = dict(spec.get("args") or {})
    params = inspect.signature(cls.__init__).parameters.values()
    takes_any = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)
    names = {p.name for p in params}
    for key, value in (spec.get("base_kwargs") or {}).items():
        if key not in kwargs and (takes_any or key in names):
            kwargs[key] = value
    return cls(task_id=spec.get("task_id"), **kwargs)


def template_fields_of(op):
    fields = getattr(op, "template_fields", ()) or ()
    if isinstance(fields, str):
        fields = (fields,)
    return [str(f) for f in fields]


def describe_template_fields(spec):
    """Mode "template_fields": the fields and their JSON values after __init__."""
    op = construct(spec)
    fields = template_fields_of(op)
    values, skipped = {}, []
    for field in fields:
        if not hasattr(op, field):
            skipped.append(field)
            continue
        value = getattr(op, field)
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            skipped.append(field)
            continue
        values[field] = value
    answer = {"template_fields": fields, "values": values}
    if callable(getattr(op, "poke", None)) and hasattr(op, "poke_interval"):
        answer["sensor"] = sensor_settings(op)
    if skipped:
        print("kairos: template fields not rendered (no attribute, or not JSON): %s"
              % ", ".join(skipped), flush=True)
    ext = getattr(op, "template_ext", ()) or ()
    if ext:
        print("kairos: template_ext %s: files named in template fields are not read "
              "and rendered (Kairos renders the field's text only)" % (list(ext),), flush=True)
    with open(spec["result"], "w", encoding="utf-8") as f:
        json.dump(answer, f)
    return 0


def sensor_settings(op):
    """A sensor's poke settings, in seconds, for the worker that pokes it."""
    def secs(value):
        if value is None:
            return None
        if isinstance(value, datetime.timedelta):
            return value.total_seconds()
        if isinstance(value, dict) and "seconds" in value:
            return float(value["seconds"])
        return float(value)
    mode = getattr(op, "mode", "poke")
    return {
        "poke_interval": secs(getattr(op, "poke_interval", 60)),
        "timeout": secs(getattr(op, "timeout", 7 * 24 * 3600)),
        "max_wait": secs(getattr(op, "max_wait", None)),
        "mode": mode if mode in ("poke", "reschedule") else "poke",
        "soft_fail": bool(getattr(op, "soft_fail", False)),
        "exponential_backoff": bool(getattr(op, "exponential_backoff", False)),
    }


def custom_context(spec, op):
    ctx = context_of(spec)
    ctx["task"] = op
    ctx["dag"] = types.SimpleNamespace(dag_id=ctx.get("dag_id"))
    return ctx


def write_result(spec, result):
    if spec.get("dates"):
        def iso(d):
            return d.isoformat() if isinstance(d, datetime.datetime) else d
        result = [iso(d) for d in result] if isinstance(result, (list, tuple)) else iso(result)
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


def execute(spec, skips, fails):
    """Mode "execute": construct, set the rendered template fields, execute.
    Mode "poke": the same, then one `poke(context)` of a sensor; the result is
    whether it is done (and a PokeReturnValue's xcom_value)."""
    op = construct(spec)
    for field, value in (spec.get("rendered") or {}).items():
        setattr(op, field, value)
    ctx = custom_context(spec, op)
    current_contexts().append(ctx)
    poke = spec.get("mode") == "poke"
    if not poke:
        print("kairos: executing %s (task %s)" % (spec["class"], spec.get("task_id")), flush=True)
    try:
        if poke:
            returned = op.poke(ctx)
            done = bool(getattr(returned, "is_done", returned))
            result = {"done": done, "xcom_value": getattr(returned, "xcom_value", None)}
        else:
            result = op.execute(ctx)
    except skips as e:
        print("kairos: skipped: %s" % e, flush=True)
        return 99
    except fails:
        traceback.print_exc()
        return 97
    except Exception:
        traceback.print_exc()
        return 1
    ctx["outlet_events"].flush()
    return write_result(spec, result)


def arguments(fn, op_args, op_kwargs, ctx):
    """Airflow's KeywordParameters.determine: op_kwargs are merged into the
    context; a callable with **kwargs gets all of it, any other only the names its
    signature has (minus those op_args already fill)."""
    merged = dict(ctx)
    merged.update(op_kwargs)
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    taken = {p.name for p in positional[:len(op_args)]}
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params):
        # A name op_args already fill is left out (Airflow refuses the call).
        return {k: v for k, v in merged.items() if k not in taken}
    return {
        p.name: merged[p.name]
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name in merged and p.name not in taken
    }


def call(spec, skips, fails):
    """Mode "call": a PythonOperator's callable."""
    ctx = context_of(spec)
    fn = load(spec)
    op_args = spec.get("op_args") or []
    if spec.get("dates"):
        # An execution_date_fn: it gets the logical date as a datetime.
        op_args = [datetime.datetime.fromisoformat(a) for a in op_args]
    kwargs = arguments(fn, op_args, spec.get("op_kwargs") or {}, ctx)
    current_contexts().append(ctx)
    print("kairos: calling %s(%s)" % (spec["name"], ", ".join(
        [repr(a) for a in op_args] + ["%s=..." % k for k in sorted(kwargs)])), flush=True)
    try:
        result = fn(*op_args, **kwargs)
    except skips as e:
        print("kairos: skipped: %s" % e, flush=True)
        return 99
    except fails:
        traceback.print_exc()
        return 97
    except Exception:
        traceback.print_exc()
        return 1
    ctx["outlet_events"].flush()
    return write_result(spec, result)


def callbacks(spec):
    """Mode "callbacks": each of `callbacks` with the task's context, as Airflow
    calls them: a function gets the context and its keyword arguments; a class
    with `notify` (an Airflow notifier) is built with the keyword arguments and
    then called with the context. One failing is logged and the next still
    runs; none changes the task's state."""
    ctx = context_of(spec)
    kind = spec["kind"]
    if spec.get("dag_reason") is not None:
        # A DAG's own callback: Airflow's context has the run and a reason, no task.
        for key in ("ti", "task_instance", "task_id", "map_index", "try_number", "templates_dict"):
            ctx.pop(key, None)
        ctx["reason"] = spec["dag_reason"]
    current_contexts().append(ctx)
    if spec.get("exception") is not None:
        import airflow.exceptions
        ctx["exception"] = airflow.exceptions.AirflowException(spec["exception"])
    failed = 0
    for cb in spec.get("callbacks") or []:
        what = ("%s.%s" % (cb["module"], cb["name"])) if cb.get("module") else (
            "%s in %s" % (cb["name"], os.path.basename(cb.get("file") or "?")))
        print("kairos: %s: calling %s" % (kind, what), flush=True)
        try:
            target = load(cb)
            kwargs = cb.get("kwargs") or {}
            if isinstance(target, type) and hasattr(target, "notify"):
                target(**kwargs)(ctx)
            else:
                target(ctx, **kwargs)
        except Exception:
            traceback.print_exc()
            print("kairos: %s: %s failed (the task's state stays as it is)" % (kind, what),
                  flush=True)
            failed += 1
            continue
        print("kairos: %s: %s done" % (kind, what), flush=True)
    return 1 if failed else 0


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    # Compiled modules are read and written only beside this call's copy of the
    # runner (fresh for each call), never in the bundle's __pycache__ folders:
    # a .pyc a task planted there would otherwise run in a later task.
    sys.pycache_prefix = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pycache")
    # The bundle's root first: its packages win over anything installed; then
    # Kairos's own package (it serves `import airflow` when Airflow is absent).
    if spec.get("sdk"):
        sys.path.insert(0, spec["sdk"])
    for path in reversed(spec.get("sys_path") or []):
        sys.path.insert(0, path)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="[%(asctime)s] {%(name)s} %(levelname)s - %(message)s")
    skips, fails = install_airflow_names()
    mode = spec.get("mode", "call")
    try:
        if mode == "template_fields":
            return describe_template_fields(spec)
        if mode in ("execute", "poke"):
            return execute(spec, skips, fails)
        if mode == "callbacks":
            return callbacks(spec)
        return call(spec, skips, fails)
    except skips as e:
        print("kairos: skipped: %s" % e, flush=True)
        return 99
    except Exception:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
