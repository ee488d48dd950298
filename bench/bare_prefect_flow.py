"""The least a Prefect flow of epbatch's design does, for comparison: one task run per engine
process under the ``energyplus`` tag limit, ``SLOTS`` threads; no validation, no variant
generation, no parsing or storage.

    python bench/bare_prefect_flow.py SLOTS JOBS_FILE    (one engine command line per line)
"""

import shlex
import subprocess
import sys
from typing import Any

from prefect import flow, task
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner


@task(tags=["energyplus"])
def simulate(args: list[str]) -> int:
    return subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


@flow
def bare_batch(jobs: list[list[str]]) -> list[int]:
    return [future.result() for future in simulate.map(jobs)]


if __name__ == "__main__":
    slots, jobs_file = int(sys.argv[1]), sys.argv[2]
    with open(jobs_file) as handle:
        jobs = [shlex.split(line) for line in handle if line.strip()]
    runner: TaskRunner[Any] = ThreadPoolTaskRunner(max_workers=slots)
    codes = bare_batch.with_options(task_runner=runner)(jobs)
    sys.exit(max(codes))
