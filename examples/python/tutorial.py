"""The Airflow 2 tutorial's shape: classic operators, default_args, a templated
bash command, `>>` with a list, and a PythonOperator that pulls an XCom."""

from datetime import datetime, timedelta
from textwrap import dedent

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def report(**context):
    printed = context["ti"].xcom_pull(task_ids="print_date")
    print(f"print_date said {printed!r} for {context['ds']}")
    return {"printed": printed, "ds": context["ds"]}


with DAG(
    "py_tutorial",
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    description="A simple tutorial DAG",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "python"],
) as dag:
    t1 = BashOperator(task_id="print_date", bash_command="echo 'date: {{ ds }}'")
    t2 = BashOperator(task_id="sleep", bash_command="sleep 1", retries=3)
    t3 = BashOperator(
        task_id="templated",
        bash_command=dedent(
            """
            {% for i in range(3) %}
                echo "{{ ds }} + 7 days = {{ macros.ds_add(ds, 7) }}"
            {% endfor %}
            """
        ),
    )
    t4 = PythonOperator(task_id="report", python_callable=report)
    t1 >> [t2, t3] >> t4
