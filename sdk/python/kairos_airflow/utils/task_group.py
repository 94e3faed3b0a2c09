"""`airflow.utils.task_group`."""

from kairos_airflow._groups import TaskGroup
