"""Thin Dagster wrappers over ``pipeline``: one module per stage, and the dataset factory."""
