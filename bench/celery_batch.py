"""A minimal rebuild of the seed's Celery + Redis design, for bench_servers.py only (never part
of the product): one Celery task per variant, each running one engine command line with
``subprocess`` (no shell); a chord whose callback collects the exit codes. Redis is the broker
and the result backend (``EPBATCH_CELERY_REDIS``, default ``redis://127.0.0.1:6379/0``).

    redis-server --port 6379 --save '' --appendonly no &
    PYTHONPATH=bench celery -A celery_batch worker --concurrency=SLOTS --pool=prefork &
    python bench/celery_batch.py JOBS_FILE    (one engine command line per line)

The client submits the chord, waits for the callback's result and exits with the largest
engine exit code.
"""

import os
import shlex
import subprocess
import sys

from celery import Celery, chord

REDIS = os.environ.get("EPBATCH_CELERY_REDIS", "redis://127.0.0.1:6379/0")

app = Celery("celery_batch", broker=REDIS, backend=REDIS)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="celery_batch.simulate")
def simulate(args: list[str]) -> int:
    """One engine run; its exit code."""
    return subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


@app.task(name="celery_batch.collect")
def collect(codes: list[int]) -> dict[str, int]:
    """The chord's callback: every variant's exit code, summed up."""
    return {"variants": len(codes), "failed": sum(1 for c in codes if c), "worst": max(codes)}


def submit(jobs: list[list[str]]) -> dict[str, int]:
    """Run ``jobs`` (engine command lines) as one chord; the callback's result."""
    result = chord(simulate.s(args) for args in jobs)(collect.s())
    summary: dict[str, int] = result.get()
    return summary


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        jobs = [shlex.split(line) for line in handle if line.strip()]
    summary = submit(jobs)
    print(summary)
    sys.exit(summary["worst"])
