"""Simulations that start before the run's flow does.

A first, cold ``epbatch run`` boots a temporary Prefect server (seconds: a new database, its
migrations) that only this run uses, so its ``energyplus`` limit holds no other batch's
engines; a run reporting to a running server waits ~2 s for Prefect to load and its flow run to
start, and there the head start first takes slots of the server's limit (``ops/leases.py``),
as many engines as it got. Meanwhile the head start runs the batch's first variants in plan
order. Once the flow submits, the head start starts nothing more, its slots go to the flow's
slot pool, and each variant's task run takes the simulation the head start made or is still
making (``claim``) instead of starting an engine: the engines still number ``slots`` at most,
because the flow runs one task thread per slot and every thread claims the lower-numbered
variants first, waiting for a claimed engine instead of starting one.
"""

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Protocol

from epbatch.results.records import VariantResult
from epbatch.variants.generate import Variant

Simulate = Callable[[Variant], VariantResult]


class HeadStart:
    """Simulate ``variants`` in order, ``slots`` at a time, until ``stop``."""

    def __init__(
        self,
        variants: Iterable[Variant],
        slots: int,
        simulate: Simulate,
        skip: Callable[[Variant], bool],
    ) -> None:
        self._source: Iterator[Variant] = iter(variants)
        self._simulate, self._skip = simulate, skip
        self._pool = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="epbatch-head-start")
        self._started: dict[str, Future[VariantResult]] = {}
        self._futures: list[Future[VariantResult]] = []  # claimed or not
        self._lock = threading.Lock()
        self._stopped = False
        for _ in range(slots):
            self._next()

    def _next(self) -> None:
        """Start the next variant that is not skipped (e.g. already in the result cache)."""
        with self._lock:
            if self._stopped:
                return
            variant = next((v for v in self._source if not self._skip(v)), None)
            if variant is None:
                return
            future = self._pool.submit(self._simulate, variant)
            self._started[variant.variant_id] = future
            self._futures.append(future)
        future.add_done_callback(lambda _: self._next())

    def engines_running(self) -> int:
        """Its simulations still under way, claimed or not."""
        with self._lock:
            return sum(not future.done() for future in self._futures)

    def stop(self) -> None:
        """Start nothing more; simulations under way go on until claimed."""
        with self._lock:
            self._stopped = True
        self._pool.shutdown(wait=False)

    def abandon(self) -> None:
        """Stop, and wait for the simulations under way (the batch will not run)."""
        self.stop()
        with self._lock:
            started = list(self._started.values())
        for future in started:
            future.exception()

    def claim(
        self, variant: Variant, around_engine: Callable[[], AbstractContextManager[object]]
    ) -> VariantResult | None:
        """The variant's result if the head start started it (waiting for it inside
        ``around_engine``: its engine stands in for the caller's), else ``None``."""
        with self._lock:
            future = self._started.pop(variant.variant_id, None)
        if future is None:
            return None
        with around_engine():
            return future.result()


_current: HeadStart | None = None


class Leases(Protocol):
    """Slots the head start's engines hold on a server other runs share (``ops/leases.py``)."""

    def hand_over(self) -> list[str]: ...

    def release(self) -> None: ...


_leases: Leases | None = None


def begin(head_start: HeadStart, leases: Leases | None = None) -> None:
    """Make ``head_start`` the one this process's task runs claim from; its engines run in
    ``leases`` (none on the run's own temporary server, which no other run uses)."""
    global _current, _leases
    _current, _leases = head_start, leases


def active() -> bool:
    """Whether task runs of this process may claim a head start's simulations."""
    return _current is not None


def claim(
    variant: Variant, around_engine: Callable[[], AbstractContextManager[object]]
) -> VariantResult | None:
    """``HeadStart.claim`` on this process's head start, if there is one."""
    return _current.claim(variant, around_engine) if _current is not None else None


def engines_running() -> int:
    """``HeadStart.engines_running`` of this process's head start (0 without one)."""
    return _current.engines_running() if _current is not None else 0


def stop() -> list[str]:
    """Stop this process's head start, if there is one; the slots its engines hold (their
    claims take them over)."""
    global _leases
    if _current is not None:
        _current.stop()
    held, _leases = (_leases.hand_over() if _leases else []), None
    return held


def abandon() -> None:
    """Abandon this process's head start, if there is one (``HeadStart.abandon``), and give
    back the slots it still holds."""
    global _current, _leases
    if _current is not None:
        _current.abandon()
        _current = None
    if _leases is not None:
        _leases.release()
        _leases = None
