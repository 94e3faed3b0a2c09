"""`TaskGroup`: tasks made inside one get its id as a prefix (as Airflow does
unless `prefix_group_id=False`); groups nest."""

_CURRENT = []


class TaskGroup:
    def __init__(self, group_id, tooltip=None, prefix_group_id=True, parent_group=None,
                 default_args=None, dag=None, **kwargs):
        from kairos_airflow import _dag

        if kwargs:
            raise TypeError("TaskGroup() does not take %s in Kairos" % ", ".join(sorted(kwargs)))
        self.dag = dag or _dag.current_dag()
        if self.dag is None:
            raise ValueError("task group `%s` belongs to no DAG" % group_id)
        self.parent = parent_group or current_group()
        self.name = group_id
        self.group_id = self.parent.prefixed(group_id) if self.parent else group_id
        self.tooltip = tooltip
        self.prefix_group_id = prefix_group_id
        self.default_args = dict(default_args or {})
        self.dag.groups[self.group_id] = self

    def prefixed(self, task_id):
        return "%s.%s" % (self.group_id, task_id) if self.prefix_group_id else task_id

    def tasks(self):
        return [t for t in self.dag.tasks.values()
                if t.group is self or (t.group is not None and _within(t.group, self))]

    def roots(self):
        """The group's tasks with no upstream inside it (what `x >> group`
        comes before, as in Airflow)."""
        inside = self.tasks()
        ids = {t.task_id for t in inside}
        return [t for t in inside if not any(u in ids for u in t.upstream_ids())]

    def leaves(self):
        """The group's tasks with no downstream inside it (what `group >> x`
        comes after)."""
        inside = self.tasks()
        upstream_of_others = {u for t in inside for u in t.upstream_ids()}
        return [t for t in inside if t.task_id not in upstream_of_others]

    def __enter__(self):
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc):
        _CURRENT.pop()
        return False

    def __rshift__(self, other):
        for t in self.leaves():
            t.set_downstream(other)
        return other

    def __lshift__(self, other):
        from kairos_airflow._operator import _tasks_of
        for t in _tasks_of(other):
            t.set_downstream(self)
        return other

    def __rrshift__(self, other):
        self.__lshift__(other)
        return self


def _within(group, ancestor):
    while group is not None:
        if group is ancestor:
            return True
        group = group.parent
    return False


def current_group():
    return _CURRENT[-1] if _CURRENT else None
