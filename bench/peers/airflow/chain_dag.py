"""The chain the Kairos bench runs, as an Airflow DAG: 50 BashOperator tasks
running `true`, one after the other, no schedule."""
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="bench_chain_50",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    is_paused_upon_creation=False,
    max_active_runs=1,
) as dag:
    previous = None
    for i in range(50):
        task = BashOperator(task_id=f"t{i:02d}", bash_command="true")
        if previous is not None:
            previous >> task
        previous = task
