"""Prefect flows: wiring of ``tasks`` over ``epbatch`` domain functions."""
