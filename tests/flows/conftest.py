"""The Prefect server fixtures live in tests/prefect_server.py (registered by tests/conftest.py,
so the flows and reliability tiers share one server); names kept importable from here."""

from tests.prefect_server import SLOTS, free_port, wait_for_line

__all__ = ["SLOTS", "free_port", "wait_for_line"]
