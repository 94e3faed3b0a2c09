"""`@task`: calling a decorated function inside a DAG makes a TaskFlow task;
what the call returns stands for the function's result (`+task` in a Kairos
DAG file), also as another task's argument and in `>>`."""

import functools
import inspect

from kairos_airflow._operator import BaseOperator
from kairos_airflow._values import callable_path


class TaskFlowOperator(BaseOperator):
    # Not a custom operator: serialized from its function, not its arguments.
    _kairos_path = "taskflow"

    def __init__(self, fn, bound, variant=None, **kwargs):
        self.fn = fn
        self.bound = bound
        # None, "branch" (@task.branch) or "short_circuit" (@task.short_circuit).
        self.variant = variant
        super().__init__(**kwargs)


class XComArg:
    def __init__(self, task, key=None):
        self._kairos_task = task
        self.key = key

    def __getitem__(self, key):
        return XComArg(self._kairos_task, key)

    def _kairos_ref(self):
        if self.key is None:
            return "+%s" % self._kairos_task.task_id
        return "+%s['%s']" % (self._kairos_task.task_id, self.key)

    def __rshift__(self, other):
        return self._kairos_task.__rshift__(other)

    def __lshift__(self, other):
        return self._kairos_task.__lshift__(other)

    def __rrshift__(self, other):
        self._kairos_task.__rrshift__(other)
        return self

    def __rlshift__(self, other):
        self._kairos_task.__rlshift__(other)
        return self

    @property
    def output(self):
        return self


def task(python_callable=None, **task_kwargs):
    """Airflow's `@task` (bare or with arguments such as `task_id`, `retries`,
    `multiple_outputs`)."""
    return _decorator(None, python_callable, task_kwargs)


def _decorator(variant, python_callable, task_kwargs):
    if python_callable is not None and callable(python_callable):
        return _decorator(variant, None, task_kwargs)(python_callable)

    def decorate(fn):
        callable_path(fn)  # a worker must be able to import it

        @functools.wraps(fn)
        def call(*args, **kwargs):
            bound = inspect.signature(fn).bind_partial(*args, **kwargs)
            options = dict(task_kwargs)
            task_id = options.pop("task_id", fn.__name__)
            made = TaskFlowOperator(fn, dict(bound.arguments), variant=variant,
                                    task_id=_free_id(task_id), **options)
            for value in bound.arguments.values():
                for ref in _refs(value):
                    made._add_upstream(ref) if ref.task_id not in made.upstream_ids() else None
            return XComArg(made)

        def unsupported(*args, **kwargs):
            raise NotImplementedError(
                "%s: mapping a TaskFlow function (expand/partial) from a Python DAG file is "
                "not supported yet; write the DAG in YAML (`expand:`)" % fn.__name__)

        # The function itself, for the worker that calls it.
        call._kairos_fn = fn
        call.expand = unsupported
        call.partial = unsupported
        call.override = lambda **o: _decorator(variant, None, {**task_kwargs, **o})(fn)
        return call

    return decorate


def _free_id(task_id):
    from kairos_airflow import _dag, _groups

    current = _dag.current_dag()
    group = _groups.current_group()
    full = lambda t: group.prefixed(t) if group else t
    if current is None or full(task_id) not in current.tasks:
        return task_id
    n = 1
    while full("%s__%d" % (task_id, n)) in current.tasks:
        n += 1
    return "%s__%d" % (task_id, n)


def _refs(value):
    if isinstance(value, XComArg):
        return [value._kairos_task]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    return []


def _not_yet(kind):
    def make(*args, **kwargs):
        raise NotImplementedError(
            "@task.%s is not supported in Python DAG files yet; use @task or an operator" % kind)
    return make


def _variant(kind):
    def make(python_callable=None, **task_kwargs):
        return _decorator(kind, python_callable, task_kwargs)
    return make


task.branch = _variant("branch")
task.short_circuit = _variant("short_circuit")
for _kind in ("bash", "virtualenv", "external_python", "docker", "kubernetes", "sensor"):
    setattr(task, _kind, _not_yet(_kind))
