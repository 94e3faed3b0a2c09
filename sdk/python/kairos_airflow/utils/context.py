"""`airflow.utils.context`."""

# The context task code gets: a mapping.
Context = dict
