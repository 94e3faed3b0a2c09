"""A custom operator and a custom sensor from the bundle's own package: the
sensor pokes until the oven is ready (reschedule mode gives the slot back
between pokes), then the operator bakes with templated fields."""

from datetime import datetime, timedelta

from airflow import DAG

from kitchen.operators import BakeOperator
from kitchen.sensors import OvenReadySensor

with DAG("py_custom_operator_and_sensor", schedule=None, start_date=datetime(2024, 1, 1),
         catchup=False, tags=["example", "python"]):
    oven = OvenReadySensor(task_id="oven_ready", oven="oven-{{ ds_nodash }}",
                           poke_interval=timedelta(seconds=1), timeout=60, mode="reschedule")
    bake = BakeOperator(task_id="bake", bread="rye", note="baked on {{ ds }}")
    oven >> bake
