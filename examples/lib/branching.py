"""Branch callable for examples/branching.yml."""


def choose_load(**context):
    """Full load on Mondays, incremental otherwise. Returns the task id to follow."""
    logical_date = context.get("logical_date")
    weekday = logical_date.weekday() if hasattr(logical_date, "weekday") else 1
    return "full_load" if weekday == 0 else "incremental_load"
