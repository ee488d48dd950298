"""``energyplus`` slots handed from one variant to the next (tasks/slots.py), on a real server."""

import threading
import time

import httpx
import pytest

from epbatch.ops.leases import ONE_SLOT, NoLimit, ServerLeases
from tasks.slots import DECREMENT, IDLE_S, MAX_POLL_S, RELEASE_RETRY_S, LeasePool
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


def refused_releases(monkeypatch: pytest.MonkeyPatch, count: int) -> list[str]:
    """The next ``count`` releases meet a server that is away (a restart): refused."""
    refused: list[str] = []
    post = LeasePool._post

    def away(pool: LeasePool, path: str, body: dict[str, object]) -> httpx.Response:
        if path == DECREMENT and len(refused) < count:
            refused.append(str(body["lease_id"]))
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return post(pool, path, body)

    monkeypatch.setattr(LeasePool, "_post", away)
    return refused


def test_a_release_the_server_did_not_take_is_sent_again_at_the_batch_end(prefect_api, monkeypatch):
    """A batch that ends while the server restarts waits until the server takes its slots
    back: a process exiting then leaves none held (for up to a minute, until the lease ends)."""
    pool = LeasePool()
    with pool.slot(None):
        (lease,) = pool._held
    refused = refused_releases(monkeypatch, 3)
    pool.release_all()
    assert refused == [str(lease)] * 3
    assert busy_slots() == 0 and not pool._unreleased


def test_a_lease_is_never_released_twice_at_once(prefect_api, monkeypatch):
    """The server takes a slot back once per release call that finds the lease: two calls at
    once (the batch's end and the idle release) would free a slot that is held, and let one
    engine too many run."""
    pool = LeasePool()
    with pool.slot(None):
        (lease,) = pool._held
    sent: list[object] = []
    post = LeasePool._post

    def slow(pool: LeasePool, path: str, body: dict[str, object]) -> httpx.Response:
        if path == DECREMENT:
            sent.append(body["lease_id"])
            time.sleep(0.5)
        return post(pool, path, body)

    monkeypatch.setattr(LeasePool, "_post", slow)
    idle_release = threading.Thread(target=pool.release_idle)
    idle_release.start()
    time.sleep(0.1)
    pool.release_all()  # waits for that release instead of sending its own
    idle_release.join()
    assert sent == [str(lease)] and busy_slots() == 0 and not pool._unreleased


def test_an_idle_slot_the_server_did_not_take_back_is_released_later(prefect_api, monkeypatch):
    pool = LeasePool()
    refused = refused_releases(monkeypatch, 2)
    with pool.slot(None):
        pass
    deadline = time.monotonic() + IDLE_S + 2 * RELEASE_RETRY_S + 10
    while busy_slots() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(refused) == 2 and busy_slots() == 0 and not pool._unreleased


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


def test_an_engine_hands_its_slot_to_the_waiting_variant_as_it_exits(prefect_api):
    """The slot goes to the next variant when the engine exits, not when its task run ends
    (it still parses and reports); a retry's engine takes a slot again first."""
    pool = LeasePool()
    started: list[str] = []

    def next_variant() -> None:
        with pool.slot(None), pool.engine():
            started.append("next")

    with held_slots(SLOTS - 1), pool.slot(None):  # one slot left, this variant's
        with pool.engine():
            waiting = threading.Thread(target=next_variant)
            waiting.start()
            time.sleep(1.5)
            assert not started, "a slot was taken beyond the limit"
            exited = time.monotonic()
        waiting.join(timeout=10)  # this task run has not ended yet
        assert started and time.monotonic() - exited < 1.0
        assert busy_slots() == SLOTS and len(pool._free) == 1  # back in the pool, not the server
        with pool.engine():  # a retry's engine
            assert len(pool._held) == 1 and not pool._free
        assert busy_slots() == SLOTS
    pool.release_idle()
    assert busy_slots() == 0


def test_a_head_start_takes_only_free_slots_and_its_claims_inherit_them(prefect_api):
    """Before Prefect loads, ``epbatch run`` takes the slots free now through the REST API; the
    flow's pool adopts them for the task runs that claim the head start's engines; with no
    head-start engine left, such a slot (taken in no task run's name) goes back to the server
    when handed on."""
    leases = ServerLeases(prefect_api)
    with held_slots(SLOTS - 1):
        assert len(leases.take(SLOTS)) == 1 and busy_slots() == SLOTS
        pool = LeasePool()
        pool.adopt(leases.hand_over())
        with pool.slot(None):
            assert len(pool._held) == 1 and busy_slots() == SLOTS  # no new lease
        assert busy_slots() == SLOTS - 1 and not pool._free  # holderless: back to the server
        assert len(leases.take(SLOTS)) == 1 and busy_slots() == SLOTS
        leases.release()  # a head start whose batch did not run
        assert busy_slots() == SLOTS - 1
    assert busy_slots() == 0


def test_head_start_slots_stay_on_the_server_while_its_engines_run(prefect_api):
    """A claim that ends (e.g. of a variant simulated before the flow started) hands its slot
    on in the pool, not back to the server, while another head-start engine still runs: each
    such engine stands on one of the adopted slots."""
    from types import SimpleNamespace

    from epbatch.run import head_start

    running = threading.Event()
    leases = ServerLeases(prefect_api)
    assert len(leases.take(SLOTS)) == SLOTS
    variant = SimpleNamespace(variant_id="v1")
    head_start.begin(
        head_start.HeadStart([variant], 1, lambda v: running.wait(30), skip=lambda v: False),  # type: ignore[list-item, arg-type, return-value]
        leases,
    )
    try:
        pool = LeasePool()
        pool.adopt(head_start.stop())
        with pool.slot(None):  # the claim of a variant that already ended
            pass
        time.sleep(IDLE_S + 0.6)
        assert busy_slots() == SLOTS and len(pool._free) == SLOTS  # kept, even idle
        running.set()
        deadline = time.monotonic() + 10
        while head_start.engines_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pool.slot(None):  # handed on once the engine ended: back to the server
            (lease,) = pool._held
        assert lease not in pool._free and lease not in pool._head_start
        deadline = time.monotonic() + IDLE_S + 10  # the other one: idle, back too
        while busy_slots() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert busy_slots() == 0 and not pool._free
    finally:
        running.set()
        head_start.abandon()
    pool.release_idle()
    assert busy_slots() == 0


def test_a_server_without_the_limit_needs_no_head_start_slot(prefect_api, monkeypatch):
    monkeypatch.setitem(ONE_SLOT, "names", ["tag:no-such-limit"])
    with pytest.raises(NoLimit):
        ServerLeases(prefect_api).take(SLOTS)


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


@pytest.mark.engine
def test_a_batch_takes_each_slot_once_and_hands_it_on(
    prefect_api, output_dir, fresh_cache, write_study, models, monkeypatch
):
    """The task engine's slot acquisition goes through the pool: 6 variants on 2 slots take
    at most 2 leases from the server (their task runs, created while the slots are busy, wait
    for them), and give them all back when the batch ends."""
    from flows.batch import run_batch
    from tests.conftest import GOLDEN, study_data

    taken: list[object] = []
    increment = LeasePool._increment

    def counted(pool: LeasePool, holder: object) -> object:
        response = increment(pool, holder)  # type: ignore[arg-type]
        if response.status_code == 200:
            taken.append(response.json().get("lease_id"))
        return response

    monkeypatch.setattr(LeasePool, "_increment", counted)
    sets = {
        f"roof-{i}": {"roof": {"layers": [{"material": "Board", "thermal_resistance": 1.0 + i}]}}
        for i in range(6)
    }
    study = write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets=sets,
        )
    )
    summary = run_batch(str(study), slots=SLOTS)
    assert summary.succeeded == 6
    assert 1 <= len(taken) <= SLOTS
    assert busy_slots() == 0
