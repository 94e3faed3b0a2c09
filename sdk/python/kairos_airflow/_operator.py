"""`BaseOperator` as a DAG file uses it: its arguments are kept as written, it
joins the current DAG (and task group), and `>>`, `<<`, `chain` and
`cross_downstream` record dependencies. Subclasses name the Airflow operator
Kairos runs (`_kairos_path`); any other class is a custom operator, run from
the bundle on the worker."""

from kairos_airflow import _dag, _groups


class BaseOperator:
    # The operator's Airflow path, as a Kairos DAG file names it.
    _kairos_path = None
    template_fields = ()

    def __init__(self, task_id=None, dag=None, task_group=None, **kwargs):
        if not isinstance(task_id, str) or not task_id:
            raise TypeError("%s() needs a task_id" % type(self).__name__)
        self.dag = dag or _dag.current_dag()
        if self.dag is None:
            raise ValueError(
                "task `%s` belongs to no DAG: make it inside `with DAG(...)`, a @dag "
                "function, or give `dag=`" % task_id)
        self.group = task_group or _groups.current_group()
        self.task_id = self.group.prefixed(task_id) if self.group else task_id
        self.kwargs = kwargs
        self.upstream = []
        self.line = _dag._caller_line()
        self.dag.add_task(self)

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
        self.set_downstream(other)
        return other

    def __lshift__(self, other):
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
