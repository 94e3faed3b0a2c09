"""`get_current_context()`: the context of the task code running now. Reading
a DAG file runs no task, so there it raises; the worker's runner pushes each
task's context here."""

CURRENT = []


def get_current_context():
    if not CURRENT:
        raise RuntimeError(
            "get_current_context() works only while a task runs, not while a DAG file is read")
    return CURRENT[-1]
