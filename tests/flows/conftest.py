"""A real Prefect server (a subprocess with its own SQLite database) for the flow tests."""

from collections.abc import Iterator

import pytest
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """The server's API URL; flows run in this process report to it."""
    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())
