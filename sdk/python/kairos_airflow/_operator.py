"""`BaseOperator` as a DAG file uses it: its arguments are kept as written, it
joins the current DAG (and task group), and `>>`, `<<`, `chain` and
`cross_downstream` record dependencies. Subclasses name the Airflow operator
Kairos runs (`_kairos_path`); any other class is a custom operator, run from
the bundle on the worker."""

import inspect
import logging

from kairos_airflow import _dag, _groups
from kairos_airflow._labels import Label

# The arguments of the operator constructions under way, innermost last.
_CALLS = []


class _RecordsCall(type):
    """Keeps the arguments an operator class is called with, as written: a
    subclass's own `__init__` (a custom operator's `bread=`) takes them before
    BaseOperator sees what it passes on, and a DAG file records the task as
    it was written."""

    def __call__(cls, *args, **kwargs):
        try:
            signature = inspect.signature(cls.__init__)
            bound = signature.bind_partial(None, *args, **kwargs)
            written = {}
            for name, value in list(bound.arguments.items())[1:]:
                kind = signature.parameters[name].kind
                if kind == inspect.Parameter.VAR_KEYWORD:
                    written.update(value)
                elif kind != inspect.Parameter.VAR_POSITIONAL:
                    written[name] = value
        except (TypeError, ValueError):
            written = dict(kwargs)
        _CALLS.append(written)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _CALLS.pop()


class BaseOperator(metaclass=_RecordsCall):
    # The operator's Airflow path, as a Kairos DAG file names it.
    _kairos_path = None
    template_fields = ()
    template_ext = ()
    template_fields_renderers = {}
    ui_color = "#fff"
    ui_fgcolor = "#000"

    def __init__(self, task_id=None, dag=None, task_group=None, **kwargs):
        if not isinstance(task_id, str) or not task_id:
            raise TypeError("%s() needs a task_id" % type(self).__name__)
        self.dag = dag or _dag.current_dag()
        if self.dag is None and _dag.COLLECTING:
            raise ValueError(
                "task `%s` belongs to no DAG: make it inside `with DAG(...)`, a @dag "
                "function, or give `dag=`" % task_id)
        self.group = task_group or _groups.current_group()
        self.task_id = self.group.prefixed(task_id) if self.group else task_id
        if _CALLS and type(self)._kairos_path is None and type(self).__init__ is not BaseOperator.__init__:
            # A custom operator: the task is what the DAG file wrote.
            kwargs = {k: v for k, v in _CALLS[-1].items()
                      if k not in ("task_id", "dag", "task_group")}
        self.kwargs = kwargs
        # As attributes too, for task code (a custom operator's execute reads
        # self.retries, self.params, ...); a class attribute of the same name
        # (a method, template_fields) is left alone.
        for key, value in kwargs.items():
            if not hasattr(type(self), key):
                setattr(self, key, value)
        self.upstream = []
        self.line = _dag._caller_line()
        if self.dag is not None:
            self.dag.add_task(self)

    @property
    def log(self):
        cls = type(self)
        return logging.getLogger("airflow.task.operators.%s.%s" % (cls.__module__, cls.__name__))

    def execute(self, context):
        raise NotImplementedError("%s does not define execute(context)" % type(self).__name__)

    # Dependencies, as Airflow spells them.
    def set_downstream(self, other):
        for o in _tasks_of(other, as_downstream=True):
            for t in _tasks_of(self):
                if t.task_id not in o.upstream_ids():
                    o._add_upstream(t)

    def set_upstream(self, other):
        for o in _tasks_of(other):
            o.set_downstream(self)

    def _add_upstream(self, task):
        self.upstream.append(task)

    def upstream_ids(self):
        return [t.task_id for t in self.upstream]

    @property
    def output(self):
        return OperatorOutput(self)

    def __rshift__(self, other):
        if isinstance(other, Label):
            return other.__rrshift__(self)
        self.set_downstream(other)
        return other

    def __lshift__(self, other):
        if isinstance(other, Label):
            return other.__rlshift__(self)
        self.set_upstream(other)
        return other

    def __rrshift__(self, other):
        self.set_upstream(other)
        return self

    def __rlshift__(self, other):
        self.set_downstream(other)
        return self

    def operator_path(self):
        cls = type(self)
        if cls._kairos_path:
            return cls._kairos_path
        return "%s.%s" % (cls.__module__, cls.__qualname__)

    def __repr__(self):
        return "<Task(%s): %s>" % (type(self).__name__, self.task_id)


class OperatorOutput:
    """`task.output`: the task's return value, as an argument of another."""

    def __init__(self, task):
        self.task = task

    def _kairos_ref(self):
        return "%s.output" % self.task.task_id


def _tasks_of(x, as_downstream=False):
    """The tasks `x` stands for: a group is its roots when it comes after
    something, its leaves when something comes after it (Airflow's rule)."""
    if isinstance(x, (list, tuple, set)):
        out = []
        for item in x:
            out.extend(_tasks_of(item, as_downstream))
        return out
    if isinstance(x, _groups.TaskGroup):
        return x.roots() if as_downstream else x.leaves()
    task = getattr(x, "_kairos_task", None)
    if task is not None:
        return [task]
    return [x]


def chain(*tasks):
    """Airflow's `chain`: each element runs after the one before; two lists of
    the same length are joined pairwise."""
    for left, right in zip(tasks, tasks[1:]):
        if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            if len(left) != len(right):
                raise ValueError("chain() joins lists pairwise: they must be of one length")
            for a, b in zip(left, right):
                _tasks_of(a)[0].set_downstream(b)
        else:
            for a in _tasks_of(left):
                a.set_downstream(right)


def cross_downstream(from_tasks, to_tasks):
    """Airflow's `cross_downstream`: every task of the first list before every
    task of the second."""
    for a in _tasks_of(from_tasks):
        a.set_downstream(to_tasks)
