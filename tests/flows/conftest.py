"""The Prefect server fixtures live in tests/prefect_server.py (registered by tests/conftest.py,
so the flows and reliability tiers share one server); names kept importable from here."""

import time
from collections.abc import Iterator

import pytest

from flows.holders import http_request, server_slots
from tasks.slots import LEASE_S
from tests.prefect_server import SLOTS, free_port, wait_for_line

__all__ = ["SLOTS", "free_port", "wait_for_line"]


@pytest.fixture(autouse=True)
def no_slot_held_before(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the shared server starts with every ``energyplus`` slot free. A lease left by
    a process that ended (a Dask worker stopped within its idle second) ends within ``LEASE_S``
    and is waited out; one still renewed fails the test, naming the batches that hold it."""
    if "prefect_env" in request.fixturenames:  # prefect_api and fresh_cache need it too
        api = request.getfixturevalue("prefect_env")["PREFECT_API_URL"]
        deadline = time.monotonic() + LEASE_S + 15
        while (slots := server_slots(http_request(api))) is not None and slots.active:
            if time.monotonic() > deadline:
                pytest.fail(f"energyplus slots held before the test, by {slots.holders}")
            time.sleep(0.5)
    yield
