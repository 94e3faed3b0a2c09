"""Callables for examples/python_callables.yml."""


def produce(base, multiplier):
    """The return value becomes the task's `return_value` XCom."""
    return int(base) * int(multiplier)


def is_positive(value):
    """A falsy return skips everything downstream (ShortCircuitOperator)."""
    return int(value) > 0
