"""eppy's parsed IDD, pickled once per IDD file: restoring it takes ~0.2 s, parsing 0.9-1.9 s.

The pickle is only ever read from a folder and file owned by the current user and writable by
no one else, so nobody else can plant code in it. The engine epbatch installs (its IDD, with
the eppy in ``constraints.txt``) comes parsed with the package (``idd/``, written by
``python -m epbatch.variants.iddcache``), read as plain data: a newcomer's first run does not
parse it beside its first engines.
"""

import contextlib
import gc
import hashlib
import io
import lzma
import os
import pickle
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

from eppy.modeleditor import IDF

from epbatch.run.cachefiles import owned_and_private, write_private

SHIPPED = Path(__file__).with_name("idd")


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
    if _restore_shipped(idd):
        return
    if write_private(entry, pickle.dumps(_parsed(), protocol=pickle.HIGHEST_PROTOCOL)):
        _prune(folder, entry)


def _parsed() -> tuple[Any, ...]:
    """eppy's own parse of the IDF class's IDD file (its state, as ``IDF.setidd`` takes it)."""
    with paused_gc():  # 1.2 s instead of 1.7 s of CPU
        IDF(io.StringIO(""))  # eppy parses the IDD on its first model
    return (IDF.idd_info, IDF.idd_index, IDF.block, IDF.idd_version)


def shipped_file(idd: Path) -> Path:
    """Where the package keeps this IDD's parse (by its content) for the installed eppy."""
    digest = hashlib.sha256(idd.read_bytes()).hexdigest()[:16]
    return SHIPPED / f"eppy-{version('eppy')}-idd-{digest}.pickle.xz"


class _DataOnly(pickle.Unpickler):
    """Lists, dicts, sets, tuples, strings and numbers: no class, no code."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name}: the parsed IDD is plain data")


def _restore_shipped(idd: Path) -> bool:
    """The parsed IDD from the package, if it has this IDD's for this eppy (~0.15 s)."""
    try:
        data = lzma.decompress(shipped_file(idd).read_bytes())
        with paused_gc():
            state = _DataOnly(io.BytesIO(data)).load()
    except Exception:  # none for another engine or eppy (or a damaged one): parse instead
        return False
    IDF.setidd(*state)
    return True


def write_shipped(idd: Path) -> Path:
    """Parse ``idd`` with eppy and keep it with the package (old parses removed)."""
    IDF.setiddname(str(idd))
    data = pickle.dumps(_parsed(), protocol=pickle.HIGHEST_PROTOCOL)
    path = shipped_file(idd)
    path.parent.mkdir(exist_ok=True)
    for old in path.parent.glob("*.pickle.xz"):
        old.unlink()
    path.write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    return path


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


if __name__ == "__main__":  # after a new engine or eppy in constraints.txt
    from epbatch.run.engine import find_engine

    print(write_shipped(find_engine().idd))
