"""Variables and a connection read inside task code, as Airflow's: set the
Variable `greeting` and the connection `warehouse` first, e.g.

    kairos variables set greeting hello
    kairos connections add warehouse --conn-uri 'postgres://etl:s3cret@db.internal:5432/sales'
"""

from datetime import datetime

from airflow.sdk import Variable, dag, get_current_context, task
from airflow.hooks.base import BaseHook


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["example", "python"])
def py_variables_and_connections():
    @task
    def greet():
        greeting = Variable.get("greeting")
        Variable.set("last_greeted", get_current_context()["run_id"])
        return f"{greeting}, world"

    @task
    def describe_warehouse(greeting: str):
        conn = BaseHook.get_connection("warehouse")
        # The password is masked in the log (printed here to show it).
        print(f"connecting as {conn.login} with password {conn.password}")
        ti = get_current_context()["ti"]
        ti.xcom_push(key="where", value=f"{conn.host}:{conn.port}/{conn.schema}")
        return {"greeting": greeting, "conn_type": conn.conn_type, "host": conn.host,
                "extra": conn.extra_dejson}

    @task
    def check(**context):
        where = context["ti"].xcom_pull(task_ids="describe_warehouse", key="where")
        print("the warehouse is at", where)
        # The context's `var` and `conn`, as in Airflow's templates.
        return {"where": where, "greeting": context["var"].value.greeting,
                "schema": context["conn"].warehouse.schema}

    describe_warehouse(greet()) >> check()


py_variables_and_connections()
