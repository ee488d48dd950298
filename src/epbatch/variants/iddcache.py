"""eppy's parsed IDD, pickled once per IDD file: restoring it takes ~0.2 s, parsing 0.9-1.4 s.

The pickle is only ever read from a folder and file owned by the current user and writable by
no one else, so nobody else can plant code in it.
"""

import contextlib
import gc
import hashlib
import io
import os
import pickle
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

from eppy.modeleditor import IDF

from epbatch.run.cachefiles import owned_and_private, write_private


def cache_file(idd: Path, folder: Path) -> Path:
    """The cache entry of this IDD file version, for this eppy and Python."""
    info = idd.stat()
    key = f"{idd.resolve()}|{info.st_size}|{info.st_mtime_ns}|{version('eppy')}|{sys.version}"
    return folder / f"eppy-idd-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pickle"


# A pickle (6.5 MB) no run has read for this long is deleted when another one is written: each
# engine install, eppy and Python version (each CI clone's venv) has its own.
UNUSED_FOR_S = 30 * 24 * 3600


def load_idd(idd: Path, folder: Path) -> None:
    """Give eppy the parsed ``idd``: from the cache, or parsed now and cached for next time."""
    IDF.setiddname(str(idd))
    entry = cache_file(idd, folder)
    if _restore(folder, entry):
        with contextlib.suppress(OSError):
            os.utime(entry)  # its last use, for pruning
        return
    with paused_gc():  # 1.2 s instead of 1.7 s of CPU
        IDF(io.StringIO(""))  # eppy parses the IDD on its first model
    state = (IDF.idd_info, IDF.idd_index, IDF.block, IDF.idd_version)
    if write_private(entry, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)):
        _prune(folder, entry)


def _prune(folder: Path, keep: Path) -> None:
    """Delete the other pickles that no run has read for ``UNUSED_FOR_S``."""
    cutoff = time.time() - UNUSED_FOR_S
    for old in folder.glob("eppy-idd-*.pickle"):
        with contextlib.suppress(OSError):  # another run may prune it at the same time
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The garbage collector paused while eppy builds ~1 M objects that all stay alive: its
    passes over them (and over everything Prefect has loaded) cost a third of a cold IDD
    parse and tripled the pickle's restore, 0.12 -> 0.4 s in a flow."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _restore(folder: Path, entry: Path) -> bool:
    """The parsed IDD from its pickle, if the folder and file are the user's own."""
    try:
        if not (owned_and_private(folder) and owned_and_private(entry)):
            return False
        with paused_gc():
            IDF.setidd(*pickle.loads(entry.read_bytes()))  # noqa: S301 - our own private file
    except Exception:  # missing, stale or damaged: parse instead
        return False
    return True
