"""A custom operator with templated fields, as Airflow users write them."""

from airflow.models.baseoperator import BaseOperator


class BakeOperator(BaseOperator):
    template_fields = ("bread", "note")

    def __init__(self, bread, note="", **kwargs):
        super().__init__(**kwargs)
        self.bread = bread
        self.note = note

    def execute(self, context):
        self.log.info("baking %s", self.bread)
        print(f"baked {self.bread}: {self.note}")
        return {"bread": self.bread, "note": self.note}
