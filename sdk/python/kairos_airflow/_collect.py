"""Evaluates DAG files and prints each one's DAGs as a JSON line for
`kairos`: `{"file": FILE, "dags_text": JSON of {dag_id: mapping}, "lines":
{dag_id: {"dag": line, "tasks": {name: line}}}}`, or `{"file": FILE, "error":
..., "line": ...}`. Usage: python -m kairos_airflow._collect ROOT FILE...
(ROOT: the DAGs folder, first on sys.path). The files are read one after the
other in this one process, as Airflow's DagBag reads a folder: each with its
own DAGs, for at most `TIME_LIMIT` seconds."""

import ast
import importlib.util
import json
import os
import signal
import sys
import traceback


def _line_in(path, tb):
    line = None
    for frame in traceback.extract_tb(tb):
        if os.path.abspath(frame.filename) == path:
            line = frame.lineno
    return line


def _module_name(path, root):
    rel = os.path.relpath(path, root)
    if rel.startswith(".."):
        return os.path.splitext(os.path.basename(path))[0]
    return os.path.splitext(rel)[0].replace(os.sep, ".")


# The most memory (address space) reading one DAG file may take.
MEMORY_LIMIT = 2 * 1024 ** 3


def _bound_memory():
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the CLI's time bound still holds


# The longest one file may take to read.
TIME_LIMIT = 60


class _TooLong(BaseException):
    pass


def _too_long(signum, frame):
    raise _TooLong()


def _imported_at(path, line):
    """The module an import statement at `line` of `path` names, if it is one."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().splitlines()[line - 1].strip()
        node = ast.parse(text).body[0]
    except (OSError, IndexError, SyntaxError, TypeError):
        return None
    if isinstance(node, ast.ImportFrom):
        return node.module
    if isinstance(node, ast.Import):
        return node.names[0].name
    return None


def _described(e, path, line):
    """The file's error as the user should read it: an Airflow name Kairos does
    not provide says which, by the name the file imported."""
    from kairos_airflow._alias import MissingAirflowModule

    if isinstance(e, MissingAirflowModule):
        full = _imported_at(path, line) if line else None
        if full and full.startswith(e.name + "."):
            return str(e).replace("`%s`" % e.name, "`%s`" % full, 1)
        return str(e)
    if type(e) is ImportError and getattr(e, "name", "") and e.name.startswith("kairos_airflow"):
        module = "airflow" + e.name[len("kairos_airflow"):]
        missing = str(e).split("'")[1] if "'" in str(e) else "?"
        return ("Kairos does not provide `%s` of `%s` (Airflow is not installed; see "
                "docs/python-dags.md for the names Kairos provides)" % (missing, module))
    return "%s: %s" % (type(e).__name__, e)


def read_one(path, root):
    """The answer for one file (a dict)."""
    from kairos_airflow import _dag, _groups, _serialize, _values
    from kairos_airflow._values import NotSerializable

    _dag.REGISTRY.clear()
    del _dag._CURRENT[:]
    del _groups._CURRENT[:]
    name = _module_name(path, root)
    _values.DAG_FILE = (name, os.path.basename(path))
    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except _TooLong as e:
        return {"error": "evaluating the file took longer than %d s (a DAG file should only "
                         "define DAGs)" % TIME_LIMIT, "line": _line_in(path, e.__traceback__)}
    except MemoryError as e:
        return {"error": "reading the file took more than %d MiB of memory (a DAG file should "
                         "only define DAGs)" % (MEMORY_LIMIT // 1024 ** 2),
                "line": _line_in(path, e.__traceback__)}
    except BaseException as e:  # the file's own error, whatever it is
        line = _line_in(path, e.__traceback__)
        return {"error": _described(e, path, line), "line": line}
    finally:
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.modules.pop(name, None)
    dags, lines = {}, {}
    for dag in _dag.REGISTRY:
        if dag.dag_id in dags:
            return {"error": "the file makes DAG `%s` twice" % dag.dag_id, "line": dag.line}
        try:
            dags[dag.dag_id], lines[dag.dag_id] = _serialize.dag_file(dag)
        except (NotSerializable, ValueError) as e:
            return {"error": "DAG `%s`: %s" % (dag.dag_id, e), "line": dag.line}
    # The DAGs as text, so their tasks keep the order the file made them in.
    return {"dags_text": json.dumps(dags, indent=1), "lines": lines}


def main(argv):
    _bound_memory()
    root = os.path.abspath(argv[1])
    paths = [os.path.abspath(p) for p in argv[2:]]
    found = importlib.util.find_spec("airflow")
    if found is not None:
        error = ("this Python has Airflow installed (`import airflow` finds %s); Kairos evaluates "
                 "DAG files with its own `airflow` names and will not shadow a real Airflow: use a "
                 "Python without apache-airflow (KAIROS_PYTHON)" % found.origin)
        for path in paths:
            print(json.dumps({"file": path, "error": error}), flush=True)
        return 3
    from kairos_airflow import _alias, _dag

    _alias.install()
    _dag.COLLECTING = True
    sys.path.insert(0, root)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _too_long)
    for path in paths:
        answer = read_one(path, root)
        answer["file"] = path
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
