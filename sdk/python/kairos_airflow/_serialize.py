"""A collected DAG as the mapping a Kairos (dag-factory) DAG file holds, so the
Rust loader checks it as it checks YAML: DAG keys, `default_args`,
`task_groups`, and each task under its name with `operator` (or `decorator`
for TaskFlow), its arguments, `task_group_name` and `dependencies`."""

from kairos_airflow._taskflow import TaskFlowOperator
from kairos_airflow._values import mapping, put, to_json


def dag_file(dag):
    """(the DAG's mapping, the DAG file's line of the DAG and of each task)."""
    body = {}
    for key, value in dag.kwargs.items():
        if key == "default_args":
            continue
        put(body, key, value, key)
    if dag.default_args:
        body["default_args"] = mapping(dag.default_args, "default_args")
    if dag.groups:
        groups = {}
        for group in dag.groups.values():
            g = {}
            if group.tooltip:
                g["tooltip"] = group.tooltip
            if not group.prefix_group_id:
                g["prefix_group_id"] = False
            if group.parent is not None:
                g["parent_group_name"] = group.parent.name
            if group.default_args:
                g["default_args"] = mapping(group.default_args, "default_args")
            groups[group.name] = g
        body["task_groups"] = groups
    tasks = {}
    lines = {}
    names = {}
    for task in dag.tasks.values():
        name = _plain(task)
        if name in names:
            raise ValueError(
                "tasks `%s` and `%s` share the name `%s` in different groups, which a Kairos "
                "DAG file cannot tell apart yet; rename one" % (names[name], task.task_id, name))
        names[name] = task.task_id
    by_id = {t.task_id: _plain(t) for t in dag.tasks.values()}
    for task in dag.tasks.values():
        name = by_id[task.task_id]
        tasks[name] = _task(task, by_id)
        lines[name] = task.line
    body["tasks"] = tasks
    return body, {"dag": dag.line, "tasks": lines}


def _plain(task):
    if task.group is not None and task.group.prefix_group_id:
        return task.task_id[len(task.group.group_id) + 1:]
    return task.task_id


def _task(task, by_id):
    out = {}
    if isinstance(task, TaskFlowOperator):
        out["decorator"] = "airflow.sdk.task" + ("." + task.variant if task.variant else "")
        put(out, "python_callable", task.fn, "python_callable")
        for key, value in task.bound.items():
            out[key] = to_json(value, key)
    else:
        out["operator"] = task.operator_path()
    for key, value in task.kwargs.items():
        put(out, key, value, key)
    if task.group is not None:
        out["task_group_name"] = task.group.name
    if task.upstream:
        out["dependencies"] = [by_id[t.task_id] for t in task.upstream]
    return out
