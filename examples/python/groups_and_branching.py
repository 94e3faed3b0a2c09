"""Task groups and @task.branch: the branch picks one of two groups by the
day of the month; the join runs after whichever ran."""

from datetime import datetime

from airflow.sdk import DAG, TaskGroup, chain, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("py_groups_and_branching", schedule=None, start_date=datetime(2024, 1, 1),
         catchup=False, tags=["example", "python"]):

    @task.branch
    def pick(**context):
        day = int(context["ds"][-2:])
        return "even.bake" if day % 2 == 0 else "odd.rest"

    with TaskGroup("even") as even:
        chain(
            BashOperator(task_id="bake", bash_command="echo even day {{ ds }}"),
            BashOperator(task_id="sell", bash_command="echo still even"),
        )
    with TaskGroup("odd") as odd:
        BashOperator(task_id="rest", bash_command="echo odd day {{ ds }}")

    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    pick() >> [even, odd] >> join
