"""Operators and sensors of this bundle, as a team keeps them beside its DAGs."""
