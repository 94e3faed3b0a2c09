"""`DAG` and `@dag`: a DAG collects the tasks made while it is the current one
(`with DAG(...)`, the `dag=` argument, or a `@dag` function's body), and every
DAG made registers itself for the collector."""

import functools
import inspect

# Every DAG made while the file runs, in order; and the DAGs entered with `with`.
REGISTRY = []
_CURRENT = []
# True while the CLI collects a DAG file's DAGs (a task outside any DAG is an
# error then); False when a worker imports the file to run its code.
COLLECTING = False


class DAG:
    def __init__(self, dag_id=None, *args, **kwargs):
        if dag_id is None:
            dag_id = kwargs.pop("dag_id", None)
        if not isinstance(dag_id, str) or not dag_id:
            raise TypeError("DAG() needs a dag_id (text)")
        if args:
            raise TypeError("give DAG()'s arguments by name, after the dag_id")
        self.dag_id = dag_id
        self.kwargs = kwargs
        self.default_args = dict(kwargs.get("default_args") or {})
        self.tasks = {}
        self.groups = {}
        self.line = _caller_line()
        REGISTRY.append(self)

    def __enter__(self):
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc):
        _CURRENT.pop()
        return False

    def add_task(self, task):
        if task.task_id in self.tasks:
            raise ValueError("DAG `%s` already has a task `%s`" % (self.dag_id, task.task_id))
        self.tasks[task.task_id] = task

    @property
    def task_ids(self):
        return list(self.tasks)

    def get_task(self, task_id):
        return self.tasks[task_id]

    def __repr__(self):
        return "<DAG: %s>" % self.dag_id


def current_dag():
    return _CURRENT[-1] if _CURRENT else None


def _caller_line():
    """The line of the DAG file that made the object (the first frame outside
    this package)."""
    for frame in inspect.stack()[2:]:
        if "kairos_airflow" not in frame.filename:
            return frame.lineno
    return None


def dag(dag_id=None, **dag_kwargs):
    """Airflow's `@dag`: calling the decorated function makes the DAG, its body
    making the tasks. Works bare (`@dag`) and with arguments (`@dag(...)`)."""
    if callable(dag_id):
        return dag()(dag_id)

    def decorate(fn):
        @functools.wraps(fn)
        def make(*args, **kwargs):
            made = DAG(dag_id or fn.__name__, **dag_kwargs)
            if fn.__doc__ and "doc_md" not in made.kwargs:
                made.kwargs["doc_md"] = inspect.cleandoc(fn.__doc__)
            with made:
                fn(*args, **kwargs)
            return made

        return make

    return decorate
