"""eppy's parsed IDD, pickled once: the same models, and no file someone else could write."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from epbatch.run.engine import find_engine
from epbatch.variants.iddcache import cache_file

# eppy keeps its IDD in class attributes, so each load runs in a fresh interpreter.
LOAD = """
import hashlib, sys, time
from pathlib import Path
from epbatch.run.engine import find_engine
from epbatch.variants.idfmodel import idf_text, load_model
start = time.perf_counter()
model = load_model(Path(sys.argv[1]), find_engine().idd)
model.idfobjects["MATERIAL"][0].Thickness = 0.123
print(hashlib.sha256(idf_text(model).encode()).hexdigest())
"""


def load(model: Path, cache: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(model)],
        env=dict(os.environ, EPBATCH_CACHE_DIR=str(cache)),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def entry(tmp_path: Path) -> Path:
    return cache_file(find_engine().idd, tmp_path / "cache")


def test_a_cached_idd_gives_the_same_model(models: Path, tmp_path: Path, entry: Path):
    parsed = load(models / "5ZoneAirCooled.idf", tmp_path / "cache")
    assert entry.is_file() and entry.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    written = entry.stat().st_ino
    assert load(models / "5ZoneAirCooled.idf", tmp_path / "cache") == parsed
    assert entry.stat().st_ino == written  # read, not parsed and written again (a new file)


def test_pickles_unused_for_a_month_go_when_a_new_one_is_written(
    models: Path, tmp_path: Path, entry: Path
):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    month = 31 * 24 * 3600
    stale, recent = cache / "eppy-idd-stale.pickle", cache / "eppy-idd-recent.pickle"
    for path, age in ((stale, month), (recent, 3600)):
        path.write_bytes(b"another venv's IDD")
        os.utime(path, (time.time() - age, time.time() - age))
    load(models / "1ZoneUncontrolled.idf", cache)
    assert entry.is_file() and recent.is_file() and not stale.exists()
    os.utime(entry, (time.time() - month, time.time() - month))
    load(models / "1ZoneUncontrolled.idf", cache)  # read: marked as used, nothing pruned
    assert time.time() - entry.stat().st_mtime < 600 and recent.is_file()


def test_an_entry_others_can_write_is_never_unpickled(models: Path, tmp_path: Path, entry: Path):
    parsed = load(models / "1ZoneUncontrolled.idf", tmp_path / "cache")
    entry.write_bytes(b"not a pickle")  # what a stranger could plant
    entry.chmod(0o666)
    assert load(models / "1ZoneUncontrolled.idf", tmp_path / "cache") == parsed
    assert entry.stat().st_mode & 0o777 == 0o600  # parsed again and replaced
