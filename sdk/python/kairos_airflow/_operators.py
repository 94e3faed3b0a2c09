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
