"""`Param`: a DAG's or task's param with a default and a JSON schema. Kairos
keeps the default as the param's value (params are plain values in a Kairos
DAG); the schema is not checked."""

_NOTSET = object()


class Param:
    def __init__(self, default=_NOTSET, description=None, **schema):
        self.value = None if default is _NOTSET else default
        self.description = description
        self.schema = schema

    def resolve(self, value=_NOTSET, suppress_exception=False):
        return self.value if value is _NOTSET else value

    def _kairos_ref(self):
        from kairos_airflow._values import to_json
        return to_json(self.value, "param")


# A DAG's `params` as a mapping.
ParamsDict = dict
