"""Evaluates one DAG file and prints its DAGs as JSON for `kairos`:
`{"dags_text": JSON of {dag_id: mapping}, "lines": {dag_id: {"dag": line,
"tasks": {name: line}}}}`, or `{"error": ..., "line": ...}`. Usage: python -m
kairos_airflow._collect FILE ROOT (ROOT: the DAGs folder, first on sys.path)."""

import importlib.util
import json
import os
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


def main(argv):
    _bound_memory()
    path, root = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    if importlib.util.find_spec("airflow") is not None:
        print(json.dumps({"error": (
            "this Python has Airflow installed (`import airflow` finds %s); Kairos evaluates "
            "DAG files with its own `airflow` names and will not shadow a real Airflow: use a "
            "Python without apache-airflow (KAIROS_PYTHON)" % importlib.util.find_spec("airflow").origin)}))
        return 3
    from kairos_airflow import _alias, _dag, _serialize
    from kairos_airflow._values import NotSerializable

    _alias.install()
    _dag.COLLECTING = True
    sys.path.insert(0, root)
    name = _module_name(path, root)
    from kairos_airflow import _values
    _values.DAG_FILE = (name, os.path.basename(path))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except MemoryError as e:
        print(json.dumps({"error": "reading the file took more than %d MiB of memory (a DAG "
                          "file should only define DAGs)" % (MEMORY_LIMIT // 1024 ** 2),
                          "line": _line_in(path, e.__traceback__)}))
        return 2
    except BaseException as e:  # the file's own error, whatever it is
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e),
                          "line": _line_in(path, e.__traceback__)}))
        return 2
    dags, lines = {}, {}
    for dag in _dag.REGISTRY:
        if dag.dag_id in dags:
            print(json.dumps({"error": "the file makes DAG `%s` twice" % dag.dag_id,
                              "line": dag.line}))
            return 2
        try:
            dags[dag.dag_id], lines[dag.dag_id] = _serialize.dag_file(dag)
        except (NotSerializable, ValueError) as e:
            print(json.dumps({"error": "DAG `%s`: %s" % (dag.dag_id, e), "line": dag.line}))
            return 2
    # The DAGs as text, so their tasks keep the order the file made them in.
    print(json.dumps({"dags_text": json.dumps(dags, indent=1), "lines": lines}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
