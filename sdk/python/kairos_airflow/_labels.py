"""`Label`: a name on an edge (`a >> Label("when late") >> b`, also with `<<`).
Kairos keeps the dependency; the label itself is not kept."""


class Label:
    def __init__(self, label):
        self.label = label
        self._before = []  # what comes before the label (`a >> Label`)
        self._after = []  # what comes after it (`b << Label`)

    def __rrshift__(self, other):
        self._before.append(other)
        return self

    def __rshift__(self, other):
        for before in self._before:
            before >> other
        return other

    def __rlshift__(self, other):
        self._after.append(other)
        return self

    def __lshift__(self, other):
        for after in self._after:
            after << other
        return other
