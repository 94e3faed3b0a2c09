"""What the worker's runner needs of this package while task code runs:
`import airflow` served from it (unless a real Airflow is installed), and a
function of a DAG file found by its name, also a TaskFlow function defined
inside a `@dag` function (named `outer__inner`), which exists only once the
DAG file has made its DAG."""

import importlib.util

from kairos_airflow import _dag
from kairos_airflow._values import callable_path


def install():
    """Serves `import airflow` from this package; False (nothing done) when
    this Python has a real Airflow, which task code then uses."""
    if importlib.util.find_spec("airflow") is not None:
        return False
    from kairos_airflow import _alias
    _alias.install()
    return True


def function(module, name):
    """The function `name` of the DAG file loaded as `module` (a `@task`
    function unwrapped), or None."""
    found = getattr(module, name, None)
    if found is not None:
        return getattr(found, "_kairos_fn", found)
    for dag in _dag.REGISTRY:
        for task in dag.tasks.values():
            fn = getattr(task, "fn", None)
            if fn is None or getattr(fn, "__module__", None) != module.__name__:
                continue
            try:
                if callable_path(fn).rsplit(".", 1)[1] == name:
                    return fn
            except TypeError:
                continue
    return None
