"""Live progress of a batch: counts, ETA, a ``progress.json`` beside the results, listeners."""

import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from epbatch.results.records import VariantResult

PROGRESS_FILE = "progress.json"
Listener = Callable[["BatchProgress"], None]
_listeners: list[Listener] = []
_tracked: dict[str, "BatchProgress"] = {}
_lock = threading.RLock()


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener`` on every update of any batch in this process; returns an unsubscribe."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


@dataclass
class BatchProgress:
    batch_id: str
    total: int
    slots: int
    folder: Path
    succeeded: int = 0
    failed: int = 0
    cached: int = 0
    running: int = 0
    skipped: int = 0
    stopped: str | None = None  # why the batch stopped submitting (the failure budget)
    started: float = field(default_factory=time.time)
    runtimes: list[float] = field(default_factory=list, repr=False)
    # slot number (1..slots) -> (variant id, when its engine started, epoch s): the engines now
    engines: dict[int, tuple[str, float]] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    @property
    def queued(self) -> int:
        return self.total - self.done - self.running

    @property
    def eta_s(self) -> float | None:
        """Remaining simulations times the median measured run time, over the slots."""
        if not self.runtimes:
            return None
        remaining = self.total - self.done
        return remaining * statistics.median(self.runtimes) / self.slots

    def add(self, result: VariantResult, cached: bool = False) -> None:
        """Count a finished variant."""
        with _lock:
            self._count(result, cached)
            self.publish()

    def skip(self, count: int, reason: str) -> None:
        """Count the variants a stopped batch will never run, at once."""
        with _lock:
            self.skipped += count
            self.stopped = reason
            self.publish()

    def _count(self, result: VariantResult, cached: bool) -> None:
        if result.status == "succeeded":
            self.succeeded += 1
        else:
            self.failed += 1
        if cached:
            self.cached += 1
        elif result.runtime_s > 0:
            self.runtimes.append(result.runtime_s)

    def engine_started(self, variant_id: str) -> int:
        """Count a running engine in the lowest free slot number; returns that number."""
        with _lock:
            slot = next(n for n in range(1, len(self.engines) + 2) if n not in self.engines)
            self.engines[slot] = (variant_id, time.time())
            self.running += 1
            self.publish()
        return slot

    def engine_ended(self, slot: int) -> None:
        with _lock:
            self.engines.pop(slot, None)
            self.running -= 1
            self.publish()

    def snapshot(self) -> dict[str, Any]:
        """The counts at one instant (the UI's timer thread takes them while engines run)."""
        with _lock:
            data = asdict(self)
            eta = self.eta_s
            data |= {"done": self.done, "queued": self.queued}
        data.pop("runtimes")
        data["folder"] = str(self.folder)
        data["engines"] = [
            {"slot": slot, "variant_id": variant_id, "started": started}
            for slot, (variant_id, started) in sorted(data["engines"].items())
        ]
        now = time.time()
        data |= {
            "eta_s": None if eta is None else round(eta, 1),
            "elapsed_s": round(now - self.started, 1),
            "updated": now,
        }
        return data

    def publish(self) -> None:
        """Write ``progress.json`` (atomically) and tell the listeners."""
        path = self.folder / PROGRESS_FILE
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(self.snapshot()), encoding="utf-8")
        os.replace(partial, path)
        for listener in list(_listeners):
            listener(self)


@contextmanager
def tracked(progress: BatchProgress) -> Iterator[BatchProgress]:
    """Make ``progress`` reachable by batch id while the block runs."""
    _tracked[progress.batch_id] = progress
    progress.publish()
    try:
        yield progress
    finally:
        del _tracked[progress.batch_id]


@contextmanager
def engine_running(batch_id: str, variant_id: str = "") -> Iterator[None]:
    """Count one running engine for the batch, in a slot of its own while the block runs
    (a no-op where the batch is not tracked)."""
    progress = _tracked.get(batch_id)
    if progress is None:
        yield
        return
    slot = progress.engine_started(variant_id)
    try:
        yield
    finally:
        progress.engine_ended(slot)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 03 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


STALE_S = 60.0  # a running batch's snapshot older than this is said to be (its process died?)


def status_lines(data: dict[str, Any], now: float | None = None) -> list[str]:
    """A snapshot as text, for the terminal and the Prefect UI alike, as of ``now``.

    A batch whose variants all ended says when it finished (``finished``, a Unix time, else
    its last update) and how long it took, not an ETA. A running one counts its elapsed time
    and ETA on from the snapshot to ``now`` (its snapshot is written as variants start and
    end, not in between)."""
    skipped = f", skipped {data['skipped']}" if data.get("skipped") else ""
    lines = [
        f"batch {data['batch_id']}: {data['done']} of {data['total']} variants done",
        f"succeeded {data['succeeded']} (cached {data['cached']}), failed {data['failed']}, "
        f"running {data['running']}, queued {data['queued']}{skipped}",
    ]
    if data["done"] >= data["total"] and not data["running"]:
        finished = data.get("finished") or data.get("updated") or time.time()
        elapsed = finished - data["started"] if data.get("started") else data["elapsed_s"]
        lines.append(
            f"slots {data['slots']}, finished at {_clock(finished)}, took {duration(elapsed)}"
        )
    else:
        now = time.time() if now is None else now
        since = max(0.0, now - data.get("updated", now))
        eta = "unknown"
        if data["eta_s"] is not None:
            end = data.get("updated", now) + data["eta_s"]
            eta = f"{_time_of_day(end)} (in {duration(max(0.0, end - now))})"
        elapsed = duration(data["elapsed_s"] + since)
        lines.append(f"slots {data['slots']}, elapsed {elapsed}, ETA {eta}")
        if since > STALE_S:
            lines.append(f"(last update {duration(since)} ago: is its `epbatch run` still alive?)")
    return lines + ([data["stopped"]] if data.get("stopped") else [])


def read_progress(output_dir: Path, batch_id: str | None = None) -> dict[str, Any] | None:
    """The snapshot of ``batch_id``, or of the most recently updated batch."""
    pattern = f"*/{batch_id}/{PROGRESS_FILE}" if batch_id else f"*/*/{PROGRESS_FILE}"
    files = sorted(output_dir.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not files:
        return None
    data: dict[str, Any] = json.loads(files[-1].read_text(encoding="utf-8"))
    return data


def _time_of_day(epoch_s: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(epoch_s))


@dataclass(frozen=True)
class ServerSlots:
    """The server's ``energyplus`` limit as every batch shares it: its size (``None``: the
    server has no such limit), the slots in use, and how many each batch (its flow run's
    name) holds; slots in use that no known batch holds are someone else's."""

    limit: int | None
    active: int
    holders: dict[str, int]


def _slots_heading(slots: ServerSlots) -> str:
    if slots.limit is None:
        return "no energyplus concurrency limit on the server: batches are not capped"
    return f"energyplus slots on the server (every batch): {slots.active} of {slots.limit} in use"


def _holder_rows(slots: ServerSlots, batch_id: str | None, running: int) -> list[tuple[str, int]]:
    """(who, slots held), most slots first; ``this batch`` marks ``batch_id``.

    Slots taken before a task run existed (a batch's head start, ``ops/leases.py``) have no
    recorded holder; ``batch_id``'s ``running`` engines each stand on a slot it holds, so at
    least ``running`` minus its recorded slots of those are its own."""
    holders = dict(slots.holders)
    if batch_id is not None:
        unrecorded = slots.active - sum(holders.values())
        own = min(unrecorded, running - holders.get(batch_id, 0))
        if own > 0:
            holders[batch_id] = holders.get(batch_id, 0) + own
    ranked = sorted(holders.items(), key=lambda item: (-item[1], item[0]))
    rows = [(name + (" (this batch)" if name == batch_id else ""), n) for name, n in ranked]
    others = slots.active - sum(holders.values())
    return rows + ([("holders not recorded yet (or not task runs)", others)] if others > 0 else [])


def server_slot_lines(
    slots: ServerSlots, batch_id: str | None = None, running: int = 0
) -> list[str]:
    """``energyplus slots on the server (every batch): 3 of 4 in use``, then one line per
    holding batch (``batch_id``, with ``running`` engines, marked)."""
    holders = _holder_rows(slots, batch_id, running)
    rows = [f"  {who}: {n} slot{'' if n == 1 else 's'}" for who, n in holders]
    return [_slots_heading(slots), *rows]


def _server_slots_markdown(slots: ServerSlots, batch_id: str, running: int) -> str:
    """The heading line, then the holders as a small table."""
    rows = [f"| {who} | {n} |" for who, n in _holder_rows(slots, batch_id, running)]
    table = ["| batch (flow run) | slots held |", "|---|---:|", *rows]
    return _slots_heading(slots) + ("\n\n" + "\n".join(table) if rows else "")


def progress_markdown(data: dict[str, Any], server_slots: ServerSlots | None = None) -> str:
    """A snapshot as the Prefect UI's progress card shows it: the counts, the ETA as a time of
    day, each slot's variant and for how long it has run, the server's slots by batch."""
    now = data["updated"]
    percent = 100 * data["done"] / data["total"] if data["total"] else 100.0
    if data["done"] == data["total"]:
        eta = f"finished {_time_of_day(now)}"
    elif data["eta_s"] is None:
        eta = "ETA unknown until a first variant ends"
    else:
        eta = f"ETA {_time_of_day(now + data['eta_s'])} (in {duration(data['eta_s'])})"
    skipped = f" · skipped {data['skipped']}" if data.get("skipped") else ""
    engines = {e["slot"]: e for e in data.get("engines", [])}
    rows = [
        f"| {n} | `{engines[n]['variant_id']}` | {duration(now - engines[n]['started'])} |"
        if n in engines
        else f"| {n} | idle | |"
        for n in range(1, max([data["slots"], *engines]) + 1)
    ]
    lines = [
        f"**{data['done']} of {data['total']} variants done ({percent:.0f} %)** "
        f"· batch `{data['batch_id']}`",
        f"succeeded {data['succeeded']} (cached {data['cached']}) · failed {data['failed']} "
        f"· running {data['running']} · queued {data['queued']}{skipped}",
        f"{eta} · elapsed {duration(data['elapsed_s'])} · updated {_time_of_day(now)}",
        "\n".join(["| slot | variant | running for |", "|---:|---|---:|", *rows]),
    ]
    if data.get("stopped"):
        lines.append(f"**{data['stopped']}**")
    if server_slots is not None:
        lines.append(_server_slots_markdown(server_slots, data["batch_id"], data["running"]))
    return "\n\n".join(lines)
