"""Serves `import airflow...` from this package while a DAG file is evaluated
(`airflow.operators.bash` is `kairos_airflow.operators.bash`). An Airflow
module this package does not have is an import error that names it and says
what Kairos provides."""

import importlib
import importlib.abc
import importlib.util
import sys


class MissingAirflowModule(ModuleNotFoundError):
    pass


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        ours = "kairos_airflow" + fullname[len("airflow"):]
        try:
            found = importlib.util.find_spec(ours)
        except ModuleNotFoundError:
            found = None
        if found is None:
            raise MissingAirflowModule(
                "Kairos does not provide `%s` (Airflow is not installed; Kairos evaluates DAG "
                "files with its own `airflow` names: DAG, airflow.sdk, the operators and "
                "sensors Kairos runs (bash, python, empty, trigger_dagrun, http; the bash, "
                "python, time and external-task sensors), TaskGroup, Variable, BaseHook; "
                "see docs/python-dags.md)" % fullname,
                name=fullname)
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module("kairos_airflow" + spec.name[len("airflow"):])

    def exec_module(self, module):
        pass


def install():
    sys.meta_path.insert(0, _Alias())
