"""A custom sensor: done on the third poke of its task instance (it counts pokes
in a Variable, so the count survives reschedules)."""

from airflow.sdk import BaseSensorOperator, PokeReturnValue, Variable


class OvenReadySensor(BaseSensorOperator):
    template_fields = ("oven",)

    def __init__(self, oven, pokes_needed=3, **kwargs):
        super().__init__(**kwargs)
        self.oven = oven
        self.pokes_needed = pokes_needed

    def poke(self, context):
        key = "oven_pokes_%s" % context["run_id"].replace(":", "_").replace("+", "_")
        pokes = int(Variable.get(key, default_var="0")) + 1
        Variable.set(key, str(pokes))
        print(f"{self.oven}: poke {pokes} of {self.pokes_needed}")
        return PokeReturnValue(is_done=pokes >= self.pokes_needed, xcom_value={"pokes": pokes})
