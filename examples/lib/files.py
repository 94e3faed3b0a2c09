"""Callables for examples/dynamic_mapping.yml."""


def list_files():
    """Each element becomes the op_args of one mapped `process` instance."""
    return [["a.csv"], ["b.csv"], ["c.csv"]]


def process_file(name, mode):
    print(f"processing {name} in {mode} mode")
    return name.upper()
