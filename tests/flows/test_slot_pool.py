"""``energyplus`` slots handed from one variant to the next (tasks/slots.py), on a real server."""

import threading
import time

import pytest

from tasks.slots import IDLE_S, MAX_POLL_S, LeasePool
from tests.flows.conftest import SLOTS
from tests.flows.helpers import busy_slots, held_slots

pytestmark = pytest.mark.prefect


def test_a_finished_slot_is_handed_to_the_next_variant_without_a_call(prefect_api):
    pool = LeasePool()
    with pool.slot(None):
        assert busy_slots() == 1
        (first,) = pool._held
    assert busy_slots() == 1 and list(pool._free) == [first]  # kept for the next variant
    with pool.slot(None):
        assert pool._held == {first} and busy_slots() == 1  # the same lease, no new one
    pool.release_idle()
    assert busy_slots() == 0 and not pool._free


def test_a_slot_no_variant_takes_goes_back_to_the_server(prefect_api):
    pool = LeasePool()
    with pool.slot(None):
        pass
    assert busy_slots() == 1
    time.sleep(IDLE_S + 0.6)
    assert busy_slots() == 0


def test_a_full_limit_is_polled_not_waited_out(prefect_api):
    """When another batch gives a slot back, the waiting variant takes it within a poll."""
    pool = LeasePool()
    got: list[float] = []

    def take() -> None:
        with pool.slot(None):
            got.append(time.monotonic())

    with held_slots(SLOTS):
        waiting = threading.Thread(target=take)
        waiting.start()
        time.sleep(1.5)
        assert not got, "a slot was taken beyond the limit"
        freed = time.monotonic()
    waiting.join(timeout=30)
    assert got and got[0] - freed <= MAX_POLL_S + 0.5
    pool.release_idle()
    assert busy_slots() == 0


def test_a_lease_the_server_lost_is_dropped_not_handed_on(prefect_api, monkeypatch):
    """The renewal finds a lease the server no longer knows (e.g. expired while the process
    was stopped): the variant holding it runs on, and it is not given to the next one."""
    monkeypatch.setattr("tasks.slots.RENEW_S", 0.3)
    pool = LeasePool()
    with pool.slot(None):
        (lease,) = pool._held
        pool._client.release_concurrency_slots_with_lease(lease)  # the server forgets it
        deadline = time.monotonic() + 10
        while pool._held and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pool._held
    assert not pool._free and busy_slots() == 0
