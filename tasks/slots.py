"""``energyplus`` slots handed from one variant to the next instead of released and taken again.

A ``run-single-variant`` task run holds one slot (a lease) of the ``tag:energyplus`` limit while
its engine runs, as Prefect's task engine does for any tagged task. Prefect releases the lease
when the task ends and the next task acquires a new one: two API calls per hand-over, and on a
stock ``prefect server start`` (SQLite) the acquisition often meets ``database is locked`` (the
server is writing the previous task's state events at that moment), answers 503, and Prefect's
client waits ~2 s before trying again. Here a finished task's lease waits in this process's pool
for the next task, which takes it without any call. A lease no task takes within ``IDLE_S``
is released, and every lease is renewed while held or pooled, so the limit still caps engines
across every flow run on the server. Only the ``tag:energyplus`` limit is pooled; every other
tag keeps Prefect's own behaviour.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any
from uuid import UUID

import httpx
import prefect.task_engine
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from epbatch.run import head_start

LIMIT = "tag:energyplus"
LEASE_S = 60.0  # the server reclaims a lease not renewed for this long (a killed process)
RENEW_S = 15.0
IDLE_S = 1.0  # a pooled lease no task took within this goes back to the server
MAX_POLL_S = 1.0  # the longest wait between two tries when the limit is full
INCREMENT = "/v2/concurrency_limits/increment-with-lease"
DECREMENT = "/v2/concurrency_limits/decrement-with-lease"
LOCKED_RETRY_S = 0.1  # after a 503 from a busy SQLite server
# A variant waiting for a slot waits this long for a server that went away (a restart) before
# its task run fails (the flow then submits it again once the API answers).
AWAY_S = 300.0
RELEASE_RETRY_S = 1.0  # a release the server could not take (away, restarting) is tried again


class LeasePool:
    """The ``tag:energyplus`` leases of this process for one Prefect API."""

    def __init__(self) -> None:
        self._client: SyncPrefectClient = get_client(sync_client=True)
        self._client.__enter__()
        self._lock = threading.Lock()
        self._returned = threading.Condition(self._lock)  # a lease went back to the pool
        self._local = threading.local()  # the lease of the task run in this thread
        self._free: dict[UUID, float] = {}  # lease -> when it was given back
        self._held: set[UUID] = set()
        self._head_start: set[UUID] = set()  # adopted from a head start (see ``adopt``)
        self._unreleased: dict[UUID, float] = {}  # released, not yet taken: until it expires
        self._sending: set[UUID] = set()  # of those, the ones whose release is on its way
        self._sent = threading.Condition(self._lock)  # a release was answered (or failed)
        self._no_limit = False  # the server has no such limit: nothing to hold
        self._limits: dict[str, bool] = {}  # other tags' limits: whether the server has them
        threading.Thread(target=self._maintain, name="epbatch-slot-leases", daemon=True).start()

    @contextmanager
    def slot(self, holder: ConcurrencyLeaseHolder | None) -> Iterator[None]:
        """Hold a slot for the block (a task run): a pooled lease, else a new one once the
        limit allows; ``engine`` may hand it over earlier."""
        self._local.lease = self._take() or self._acquire(holder)
        self._local.in_slot = True
        try:
            yield
        finally:
            self._local.in_slot = False
            self._give_back()

    @contextmanager
    def engine(self) -> Iterator[None]:
        """Around the engine process of the task run in this thread: the slot goes to the
        next variant as soon as the engine exits, while this task run still parses and reports
        (taken again first if it already went, e.g. for a retry's engine)."""
        if getattr(self._local, "in_slot", False) and self._local.lease is None:
            self._local.lease = self._take() or self._acquire(None)
        try:
            yield
        finally:
            self._give_back()

    def _give_back(self) -> None:
        """The thread's lease to the pool, where a waiting task run takes it at once."""
        lease, self._local.lease = getattr(self._local, "lease", None), None
        if lease is None:
            return
        with self._lock:
            if lease not in self._held:  # lost meanwhile
                return
            self._held.discard(lease)
            release = lease in self._head_start and not head_start.engines_running()
            if release:
                self._head_start.discard(lease)
            else:
                self._free[lease] = time.monotonic()
                self._returned.notify()
        if release:
            self._release([lease])
            with self._lock:
                self._returned.notify()  # a waiting task run asks the server now

    def adopt(self, leases: list[str]) -> None:
        """Take over the slots a head start's engines hold (``epbatch.run.head_start``): pooled
        for the task runs that claim those engines. While any head-start engine runs, none of
        them goes back to the server, idle or not (each engine stands on one). Taken before any
        task run existed, they name no batch on the server: once those engines have ended,
        each goes back when handed on, and the next variant takes one in its own name
        (``epbatch status`` names each slot's batch)."""
        with self._lock:
            for lease in map(UUID, leases):
                self._free[lease] = time.monotonic()
                self._head_start.add(lease)
            self._returned.notify_all()

    def release_idle(self, older_than_s: float = 0.0) -> None:
        """Give back the pooled leases no task took for ``older_than_s`` (all with 0)."""
        now = time.monotonic()
        with self._lock:
            kept = self._head_start if older_than_s and head_start.engines_running() else set()
            idle = [
                lease
                for lease, since in self._free.items()
                if now - since >= older_than_s and lease not in kept
            ]
            for lease in idle:
                del self._free[lease]
                self._head_start.discard(lease)
        self._release(idle)

    def release_all(self) -> None:
        """At a batch's end: every pooled lease back to the server, waiting while the server is
        away (at most until the leases expire anyway), so that no slot stays held by a process
        that exits meanwhile."""
        self.release_idle()
        while self._retry_releases():
            with self._sent:  # woken as soon as another thread's release of them is answered
                self._sent.wait(RELEASE_RETRY_S)

    def _release(self, leases: list[UUID]) -> None:
        """Give ``leases`` back. Each stays in ``_unreleased`` until the server took it: a
        server away or restarting (Prefect's client then retries for up to a minute, in a
        thread that may not live that long) gets it again every ``RELEASE_RETRY_S``. Never
        two sends of one lease at once: the server would decrement the limit twice (it reads
        the lease, decrements, then revokes it), and then let one engine too many run."""
        with self._lock:
            for lease in leases:
                self._unreleased.setdefault(lease, time.monotonic() + LEASE_S)
            mine = [lease for lease in leases if lease not in self._sending]
            self._sending.update(mine)
        for lease in mine:
            try:
                taken = self._post(DECREMENT, {"lease_id": str(lease)}).status_code < 500
            except httpx.TransportError:
                taken = False
            with self._lock:  # taken, or unknown to the server (expired, released)
                self._sending.discard(lease)
                if taken:
                    self._unreleased.pop(lease, None)
                self._sent.notify_all()

    def _retry_releases(self) -> bool:
        """Send the releases the server did not take again (not the expired ones, nor those
        being sent): whether any is still waiting."""
        now = time.monotonic()
        with self._lock:
            for lease in [lease for lease, ends in self._unreleased.items() if ends <= now]:
                del self._unreleased[lease]
            waiting = list(self._unreleased)
        self._release(waiting)
        with self._lock:
            return bool(self._unreleased)

    def _take(self) -> UUID | None:
        with self._lock:
            if not self._free:
                return None
            lease = next(iter(self._free))
            del self._free[lease]
            self._held.add(lease)
            return lease

    def _acquire(self, holder: ConcurrencyLeaseHolder | None) -> UUID | None:
        away_since: float | None = None
        while not self._no_limit:
            try:
                response = self._increment(holder)
            except httpx.TransportError:  # away (a restart): wait for it as for a full limit
                away_since = away_since or time.monotonic()
                if time.monotonic() - away_since > AWAY_S:
                    raise
                if lease := self._wait_for_free(MAX_POLL_S):
                    return lease
                continue
            if response.status_code == 503:  # SQLite's "database is locked": try again soon
                time.sleep(LOCKED_RETRY_S)
                continue
            if response.status_code == 423:  # the limit is full: poll, whatever Retry-After says
                wait = min(float(response.headers.get("Retry-After", MAX_POLL_S)), MAX_POLL_S)
                if lease := self._wait_for_free(wait):
                    return lease
                continue
            response.raise_for_status()
            body = response.json()
            if not body.get("limits"):
                self._no_limit = True
                break
            lease = UUID(body["lease_id"])
            with self._lock:
                self._held.add(lease)
            return lease
        return None

    def _wait_for_free(self, timeout_s: float) -> UUID | None:
        """A lease of this process's pool, woken at once when one of its engines exits."""
        with self._returned:
            self._returned.wait_for(lambda: bool(self._free), timeout=timeout_s)
        return self._take()

    def _increment(self, holder: ConcurrencyLeaseHolder | None) -> httpx.Response:
        """One acquisition call, its answer as it is."""
        body: dict[str, Any] = {
            "names": [LIMIT],
            "slots": 1,
            "mode": "concurrency",
            "lease_duration": LEASE_S,
            "holder": holder.model_dump(mode="json") if holder else None,
        }
        return self._post(INCREMENT, body)

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """One call, its answer as it is, sent by the Prefect client's own HTTP client (the
        API's address, auth and headers) without its retry loop: that sleeps 2 s after a 503,
        even with its retries off. A 403 (e.g. a CSRF token needed) is sent again through the
        retry loop, which adds the token."""
        http: httpx.Client = self._client._client
        response = httpx.Client.send(http, http.build_request("POST", path, json=body))
        if response.status_code == 403:
            try:
                return http.request("POST", path, json=body)
            except httpx.HTTPStatusError as error:
                return error.response
        return response

    def has_limit(self, name: str) -> bool:
        """Whether the server has the concurrency limit ``name`` (asked once: a read, which
        SQLite never refuses as locked, unlike the acquisition Prefect would try)."""
        with self._lock:
            known = self._limits.get(name)
        if known is None:
            try:
                self._client.read_global_concurrency_limit_by_name(name)
                known = True
            except ObjectNotFound:
                known = False
            with self._lock:
                self._limits[name] = known
        return known

    def _maintain(self) -> None:
        """Release idle leases; renew the others every ``RENEW_S``, dropping lost ones."""
        renewed = retried = time.monotonic()
        while True:
            time.sleep(0.2)
            self.release_idle(IDLE_S)
            if self._unreleased and time.monotonic() - retried >= RELEASE_RETRY_S:
                retried = time.monotonic()
                self._retry_releases()
            if time.monotonic() - renewed < RENEW_S:
                continue
            renewed = time.monotonic()
            with self._lock:
                leases = [*self._held, *self._free]
            for lease in leases:
                if self._call(self._client.renew_concurrency_lease, lease, LEASE_S) == 410:
                    with self._lock:  # gone (expired, revoked): its task runs on, as in Prefect
                        self._held.discard(lease)
                        self._free.pop(lease, None)
                        self._head_start.discard(lease)

    @staticmethod
    def _call(method: Callable[..., Any], *args: Any) -> int | None:
        """An API call whose failure must not end a batch: the HTTP status of an error."""
        try:
            method(*args)
        except httpx.HTTPStatusError as error:
            return error.response.status_code
        except Exception:  # the server is away: the lease expires or is renewed later
            return None
        return None


_pools: dict[str, LeasePool] = {}
_pools_lock = threading.Lock()


def lease_pool() -> LeasePool:
    """This process's pool for the current Prefect API."""
    url = str(PREFECT_API_URL.value())
    with _pools_lock:
        if url not in _pools:
            _pools[url] = LeasePool()
        return _pools[url]


_prefect_concurrency: Callable[..., AbstractContextManager[None]] = vars(prefect.task_engine)[
    "_concurrency"
]


@contextmanager
def _task_concurrency(
    names: list[str], holder: ConcurrencyLeaseHolder | None = None, **options: Any
) -> Iterator[None]:
    """What the task engine enters around a tagged task run (one name per tag): the pool for
    ``tag:energyplus``, Prefect's own acquisition for any other tag that has a limit (the
    others are asked once per process with a read, not an acquisition per task run)."""
    pooled = LIMIT in names and options.get("occupy", 1) == 1
    others = [name for name in names if name != LIMIT] if pooled else names
    others = [name for name in others if lease_pool().has_limit(name)]  # e.g. tag:variant
    with ExitStack() as stack:
        if pooled:
            stack.enter_context(lease_pool().slot(holder))
        if others:
            stack.enter_context(_prefect_concurrency(names=others, holder=holder, **options))
        yield


def pool_energyplus_slots() -> None:
    """Make the task engine take ``energyplus`` slots from the pool (once per process)."""
    vars(prefect.task_engine)["_concurrency"] = _task_concurrency
