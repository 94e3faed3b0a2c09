"""Python values as a Kairos DAG file writes them: JSON, with datetimes as ISO
text, timedeltas and callables in the forms dag-factory reads."""

import datetime
import enum


class NotSerializable(TypeError):
    pass


# The DAG file being read: (its module's name, its file name), set by the
# collector. A function defined in it is named by file (`python_callable_name`
# + `python_callable_file`), so the DAG's version carries exactly that code and
# a worker runs it with or without a bundle.
DAG_FILE = None


def in_dag_file(value):
    """(file name, function name) when `value` is a function of the DAG file."""
    if DAG_FILE is None or isinstance(value, type) or not callable(value):
        return None
    fn = getattr(value, "_kairos_fn", value)
    if getattr(fn, "__module__", None) != DAG_FILE[0]:
        return None
    return DAG_FILE[1], callable_path(fn).rsplit(".", 1)[1]


def put(out, key, value, where):
    """Sets `key` of the mapping `out` to `value` as JSON; a function of the DAG
    file goes as `key_name` and `key_file`, dag-factory's form."""
    found = in_dag_file(value)
    if found is None:
        out[key] = to_json(value, where)
    else:
        out[key + "_file"], out[key + "_name"] = found


def mapping(values, where):
    """A mapping of arguments (`default_args`) as JSON, by `put`."""
    out = {}
    for key, value in values.items():
        put(out, str(key), value, "%s.%s" % (where, key))
    return out


def callable_path(fn):
    """`module.function` of a function defined at a module's top level; a
    function defined inside another (a TaskFlow function inside a `@dag`
    function, as Airflow's tutorials write them) is named
    `module.outer__inner`, which the worker finds by evaluating the DAG file
    again."""
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name:
        name = name.replace(".<locals>.", "__")
    if not module or not name or "<" in name or "." in name:
        raise NotSerializable(
            "%r is not a function at the top level of a module, so a worker cannot "
            "import it; define it with `def` at the top of the DAG file or a module "
            "of the bundle" % (fn,))
    return "%s.%s" % (module, name)


def to_json(value, where):
    """`value` as JSON for the DAG's `where` (an argument's name, for errors)."""
    if isinstance(value, enum.Enum):
        return to_json(value.value, where)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    ref = getattr(value, "_kairos_ref", None)
    if ref is not None:
        return ref()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return {"__type__": "datetime.timedelta", "seconds": value.total_seconds()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v, "%s.%s" % (where, k)) for k, v in value.items()}
    uri = getattr(value, "uri", None)
    if isinstance(uri, str):
        return uri
    if callable(value):
        return callable_path(value)
    raise NotSerializable(
        "`%s` is a %s, which Kairos cannot hand to a task: use JSON values (text, "
        "numbers, lists, dicts), datetimes or timedeltas" % (where, type(value).__name__))
