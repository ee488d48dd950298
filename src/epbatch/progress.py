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

from epbatch.results import VariantResult

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

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("runtimes")
        data["folder"] = str(self.folder)
        eta = self.eta_s
        data |= {
            "done": self.done,
            "queued": self.queued,
            "eta_s": None if eta is None else round(eta, 1),
            "elapsed_s": round(time.time() - self.started, 1),
            "updated": time.time(),
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
def engine_running(batch_id: str) -> Iterator[None]:
    """Count one running engine for the batch (a no-op where the batch is not tracked)."""
    progress = _tracked.get(batch_id)
    if progress is None:
        yield
        return
    with _lock:
        progress.running += 1
        progress.publish()
    try:
        yield
    finally:
        with _lock:
            progress.running -= 1
            progress.publish()


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 03 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def status_lines(data: dict[str, Any]) -> list[str]:
    """A snapshot as text, for the terminal and the Prefect UI alike.

    A batch whose variants all ended says when it finished (``finished``, a Unix time, else
    its last update) and how long it took, not an ETA."""
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
        eta = "unknown" if data["eta_s"] is None else duration(data["eta_s"])
        lines.append(f"slots {data['slots']}, elapsed {duration(data['elapsed_s'])}, ETA {eta}")
    return lines + ([data["stopped"]] if data.get("stopped") else [])


def read_progress(output_dir: Path, batch_id: str | None = None) -> dict[str, Any] | None:
    """The snapshot of ``batch_id``, or of the most recently updated batch."""
    pattern = f"*/{batch_id}/{PROGRESS_FILE}" if batch_id else f"*/*/{PROGRESS_FILE}"
    files = sorted(output_dir.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not files:
        return None
    data: dict[str, Any] = json.loads(files[-1].read_text(encoding="utf-8"))
    return data
