"""The operators Kairos runs, by the Airflow path a Kairos DAG file names."""

from kairos_airflow._operator import BaseOperator

_STANDARD = "airflow.providers.standard.operators."


class BashOperator(BaseOperator):
    _kairos_path = _STANDARD + "bash.BashOperator"
    template_fields = ("bash_command", "env", "cwd")


class PythonOperator(BaseOperator):
    _kairos_path = _STANDARD + "python.PythonOperator"
    template_fields = ("templates_dict", "op_args", "op_kwargs")


class BranchPythonOperator(BaseOperator):
    _kairos_path = _STANDARD + "python.BranchPythonOperator"


class ShortCircuitOperator(BaseOperator):
    _kairos_path = _STANDARD + "python.ShortCircuitOperator"


class EmptyOperator(BaseOperator):
    _kairos_path = _STANDARD + "empty.EmptyOperator"


# Airflow 2's name of EmptyOperator.
DummyOperator = EmptyOperator


# The sensors and the other operators Kairos runs.
_SENSORS = "airflow.providers.standard.sensors."


class BashSensor(BaseOperator):
    _kairos_path = _SENSORS + "bash.BashSensor"
    template_fields = ("bash_command", "env")


class PythonSensor(BaseOperator):
    _kairos_path = _SENSORS + "python.PythonSensor"
    template_fields = ("templates_dict", "op_args", "op_kwargs")


class TimeDeltaSensor(BaseOperator):
    _kairos_path = _SENSORS + "time_delta.TimeDeltaSensor"


class TimeDeltaSensorAsync(BaseOperator):
    _kairos_path = _SENSORS + "time_delta.TimeDeltaSensorAsync"


class DateTimeSensor(BaseOperator):
    _kairos_path = _SENSORS + "date_time.DateTimeSensor"
    template_fields = ("target_time",)


class DateTimeSensorAsync(BaseOperator):
    _kairos_path = _SENSORS + "date_time.DateTimeSensorAsync"
    template_fields = ("target_time",)


class ExternalTaskSensor(BaseOperator):
    _kairos_path = _SENSORS + "external_task.ExternalTaskSensor"
    template_fields = ("external_dag_id", "external_task_id", "external_task_ids")


class TriggerDagRunOperator(BaseOperator):
    _kairos_path = _STANDARD + "trigger_dagrun.TriggerDagRunOperator"
    template_fields = ("trigger_dag_id", "trigger_run_id", "logical_date", "conf")


class HttpOperator(BaseOperator):
    _kairos_path = "airflow.providers.http.operators.http.HttpOperator"
    template_fields = ("endpoint", "data", "headers")


# Airflow 2's name of HttpOperator.
SimpleHttpOperator = HttpOperator
