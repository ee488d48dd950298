"""What ``prefect.yaml`` cannot say: the work pool and the ``energyplus`` concurrency limit."""
