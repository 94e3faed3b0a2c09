"""`airflow.exceptions`: the exceptions task code raises (the worker's runner
honours them: a skip, a failure without retry)."""


class AirflowException(Exception):
    pass


class AirflowSkipException(AirflowException):
    pass


class AirflowFailException(AirflowException):
    pass
