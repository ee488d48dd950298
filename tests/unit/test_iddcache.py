"""eppy's parsed IDD, pickled once: the same models, and no file someone else could write;
the installed engine's comes with the package."""

import io
import lzma
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from epbatch.run.engine import find_engine
from epbatch.variants.iddcache import _DataOnly, cache_file, shipped_file

# eppy keeps its IDD in class attributes, so each load runs in a fresh interpreter.
LOAD = """
import hashlib, sys, time
from pathlib import Path
from epbatch.run.engine import find_engine
from epbatch.variants.idfmodel import idf_text, load_model
start = time.perf_counter()
model = load_model(Path(sys.argv[1]), Path(sys.argv[2]) if sys.argv[2:] else find_engine().idd)
model.idfobjects["MATERIAL"][0].Thickness = 0.123
print(hashlib.sha256(idf_text(model).encode()).hexdigest())
"""


def load(model: Path, cache: Path, idd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(model), *([str(idd)] if idd else [])],
        env=dict(os.environ, EPBATCH_CACHE_DIR=str(cache)),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def copy_idd(folder: Path, extra: bytes = b"") -> Path:
    """The engine's IDD copied into ``folder``, with ``extra`` bytes at its end."""
    folder.mkdir(exist_ok=True)
    copy = folder / "Energy+.idd"
    copy.write_bytes(find_engine().idd.read_bytes() + extra)
    return copy


@pytest.fixture
def idd(tmp_path: Path) -> Path:
    """Another copy of the engine's IDD (one more comment line): the package has no parse of it."""
    return copy_idd(tmp_path, b"\n! another install\n")


@pytest.fixture
def entry(tmp_path: Path, idd: Path) -> Path:
    return cache_file(idd, tmp_path / "cache")


def test_a_cached_idd_gives_the_same_model(models: Path, tmp_path: Path, idd: Path, entry: Path):
    parsed = load(models / "5ZoneAirCooled.idf", tmp_path / "cache", idd)
    assert entry.is_file() and entry.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    written = entry.stat().st_ino
    assert load(models / "5ZoneAirCooled.idf", tmp_path / "cache", idd) == parsed
    assert entry.stat().st_ino == written  # read, not parsed and written again (a new file)


def test_pickles_unused_for_a_month_go_when_a_new_one_is_written(
    models: Path, tmp_path: Path, idd: Path, entry: Path
):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    month = 31 * 24 * 3600
    stale, recent = cache / "eppy-idd-stale.pickle", cache / "eppy-idd-recent.pickle"
    for path, age in ((stale, month), (recent, 3600)):
        path.write_bytes(b"another venv's IDD")
        os.utime(path, (time.time() - age, time.time() - age))
    load(models / "1ZoneUncontrolled.idf", cache, idd)
    assert entry.is_file() and recent.is_file() and not stale.exists()
    os.utime(entry, (time.time() - month, time.time() - month))
    load(models / "1ZoneUncontrolled.idf", cache, idd)  # read: marked as used, nothing pruned
    assert time.time() - entry.stat().st_mtime < 600 and recent.is_file()


def test_an_entry_others_can_write_is_never_unpickled(
    models: Path, tmp_path: Path, idd: Path, entry: Path
):
    parsed = load(models / "1ZoneUncontrolled.idf", tmp_path / "cache", idd)
    entry.write_bytes(b"not a pickle")  # what a stranger could plant
    entry.chmod(0o666)
    assert load(models / "1ZoneUncontrolled.idf", tmp_path / "cache", idd) == parsed
    assert entry.stat().st_mode & 0o777 == 0o600  # parsed again and replaced


EPPY_PARSE = """
import io, pickle, sys
from eppy.modeleditor import IDF
IDF.setiddname(sys.argv[1])
IDF(io.StringIO(""))
sys.stdout.buffer.write(pickle.dumps((IDF.idd_info, IDF.idd_index, IDF.block, IDF.idd_version)))
"""


def test_the_installed_engine_s_idd_comes_parsed_with_the_package():
    engine_idd = find_engine().idd
    shipped = shipped_file(engine_idd)
    assert shipped.is_file(), "new engine or eppy: run `python -m epbatch.variants.iddcache`"
    done = subprocess.run(
        [sys.executable, "-c", EPPY_PARSE, str(engine_idd)], capture_output=True, check=True
    )
    from_package = _DataOnly(io.BytesIO(lzma.decompress(shipped.read_bytes()))).load()
    assert from_package == _DataOnly(io.BytesIO(done.stdout)).load()


def test_a_first_run_reads_the_package_s_parse_and_writes_no_cache(models: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    from_package = load(models / "5ZoneAirCooled.idf", cache)
    assert not list(cache.glob("eppy-idd-*"))
    same_elsewhere = copy_idd(tmp_path / "copy")  # the same content: from the package too
    assert from_package == load(models / "5ZoneAirCooled.idf", tmp_path / "other", same_elsewhere)


def test_the_package_s_parse_is_read_as_data_only():
    planted = pickle.dumps(os.system)  # a reference to code, which a pickle may carry
    with pytest.raises(pickle.UnpicklingError, match="plain data"):
        _DataOnly(io.BytesIO(planted)).load()
