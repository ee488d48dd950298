"""Create the work pool and the ``energyplus`` concurrency limit.

python -m deployments.bootstrap --slots 2      # then: prefect --no-prompt deploy --all
"""

import argparse
import os
from contextlib import suppress

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists

WORK_POOL = "epbatch-process"
LIMIT_TAG = "energyplus"


def ensure_work_pool(name: str = WORK_POOL) -> None:
    """A process work pool: its workers run flows as local subprocesses."""
    with get_client(sync_client=True) as client, suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def ensure_energyplus_limit(slots: int) -> None:
    """The tag limit every ``run_single_variant`` run takes a slot of (created or resized)."""
    with get_client(sync_client=True) as client:
        client.create_concurrency_limit(tag=LIMIT_TAG, concurrency_limit=slots)


def bootstrap(slots: int) -> None:
    ensure_work_pool()
    ensure_energyplus_limit(slots)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--slots",
        type=int,
        default=os.cpu_count() or 1,
        help="EnergyPlus processes allowed across all runs (default: CPU cores)",
    )
    args = parser.parse_args()
    bootstrap(args.slots)
    print(f"work pool {WORK_POOL!r} and concurrency limit {LIMIT_TAG!r}={args.slots} ready")


if __name__ == "__main__":
    main()
