"""Prefect tasks: thin wrappers over ``epbatch`` domain functions."""
