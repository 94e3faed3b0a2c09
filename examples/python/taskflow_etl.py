"""The Airflow 3 TaskFlow tutorial's shape: @dag and @task, values passed
between tasks as XComs, multiple_outputs."""

import json

from airflow.sdk import dag, task

from kitchen.dates import START


@dag(schedule=None, start_date=START, catchup=False, tags=["example", "python"])
def py_taskflow_etl():
    """Extract orders, total them, load the total."""

    @task()
    def extract():
        return json.loads('{"1001": 301.27, "1002": 433.21, "1003": 502.22}')

    @task(multiple_outputs=True)
    def transform(order_data_dict: dict):
        return {"total_order_value": round(sum(order_data_dict.values()), 2)}

    @task()
    def load(total_order_value: float):
        print(f"Total order value is: {total_order_value:.2f}")
        return total_order_value

    load(transform(extract())["total_order_value"])


py_taskflow_etl()
