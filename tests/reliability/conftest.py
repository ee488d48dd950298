"""The reliability tier: ``epbatch`` as a user runs it, fed bad input and faults."""

import os
import shlex
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from epbatch.ops.cli import main
from epbatch.run.engine import Engine
from epbatch.settings import get_settings
from tests.conftest import GOLDEN, MODELS

ONE_ZONE = MODELS / "1ZoneUncontrolled.idf"


@pytest.fixture
def epbatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., tuple[int, str]]]:
    """``epbatch --output-dir <tmp>/out ARGS...`` in this process: (exit status, stderr).

    The CLI reads the Prefect API from the environment, as a user's shell gives it: the test's
    server (``prefect_api``), if the test has one, is exported for the call. Whatever the CLI
    sets in the environment (its API, a temporary server's address) is undone afterwards.
    """
    out = tmp_path / "out"
    monkeypatch.setenv("EPBATCH_OUTPUT_DIR", str(out))
    monkeypatch.delenv("EPBATCH_DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, str]:
        from prefect.settings import PREFECT_API_URL

        saved, api = dict(os.environ), PREFECT_API_URL.value()
        if api:
            os.environ["PREFECT_API_URL"] = api
        try:
            status = main(["--output-dir", str(out), *args])
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return status, capsys.readouterr().err

    yield run
    get_settings.cache_clear()


@pytest.fixture
def broken_model(tmp_path: Path) -> Callable[[str, str, str], Path]:
    """1ZoneUncontrolled.idf with ``old`` replaced by ``new``, saved as ``name``."""

    def write(name: str, old: str, new: str) -> Path:
        text = ONE_ZONE.read_text(encoding="latin-1")
        assert old in text, old
        path = tmp_path / name
        path.write_text(text.replace(old, new, 1), encoding="latin-1")
        return path

    return write


def stand_in_engine(engine: Engine, folder: Path, script: str) -> Path:
    """An ``energyplus`` shell script in ``folder`` (for ``EPBATCH_ENERGYPLUS``), beside links
    to the real engine's IDD and weather (the engine root is the executable's folder).
    ``script`` is its body; ``$ENERGYPLUS`` in it is the real engine's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Energy+.idd").symlink_to(engine.idd)
    (folder / "WeatherData").symlink_to(engine.weather_dir)
    path = folder / "energyplus"
    path.write_text(f"#!/bin/sh\nENERGYPLUS={shlex.quote(str(engine.executable))}\n{script}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def roof_study(
    folder: Path, name: str, variants: int, run_period: Any, first_r: float = 1.0
) -> Path:
    """``folder/name.yaml``: ``variants`` runs of 1ZoneUncontrolled on 2 slots, sets
    ``roof-0``, ``roof-1``… whose roofs differ (R = ``first_r``, ``first_r`` + 1…): no two
    variants share a cache key, nor with another study of a different ``first_r``."""
    sets = {
        f"roof-{i}": {
            "roof": {"layers": [{"material": "Board", "thermal_resistance": first_r + i}]}
        }
        for i in range(variants)
    }
    data = {
        "name": name,
        "models": [str(ONE_ZONE)],
        "weather": [GOLDEN],
        "run_period": run_period,
        "slots": 2,
        "construction_sets": sets,
    }
    study = folder / f"{name}.yaml"
    study.write_text(yaml.safe_dump(data))
    return study
