"""Shared fixtures: the real engine, the NREL example models, study-file helpers."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from epbatch.run.engine import Engine, find_engine

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

# The Prefect server fixtures, registered here once so every tier shares one server per session.
from tests.prefect_server import (
    engine_log,
    fresh_cache,
    output_dir,
    prefect_api,
    prefect_env,
    stock_prefect_env,
)

__all__ = [
    "engine_log",
    "fresh_cache",
    "output_dir",
    "prefect_api",
    "prefect_env",
    "stock_prefect_env",
]

MODELS = Path(__file__).resolve().parents[2] / "shared" / "models"
CHICAGO = "USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw"
GOLDEN = "USA_CO_Golden-NREL.724666_TMY3.epw"

INSULATED_WALL = {
    "layers": [
        {
            "material": "Brick",
            "thickness": 0.1,
            "conductivity": 0.89,
            "density": 1920,
            "specific_heat": 790,
        },
        {
            "material": "Mineral wool",
            "thickness": 0.2,
            "conductivity": 0.035,
            "density": 30,
            "specific_heat": 840,
        },
    ]
}
TRIPLE_GLAZING = {"u_factor": 0.8, "shgc": 0.5, "visible_transmittance": 0.7}


@pytest.fixture(scope="session")
def engine() -> Engine:
    return find_engine()


@pytest.fixture(scope="session")
def models() -> Path:
    assert (MODELS / "5ZoneAirCooled.idf").is_file(), f"NREL example models not found in {MODELS}"
    return MODELS


def study_data(**overrides: Any) -> dict[str, Any]:
    """A valid study on 5ZoneAirCooled, with keys replaced by ``overrides``."""
    data: dict[str, Any] = {
        "name": "test-study",
        "models": [str(MODELS / "5ZoneAirCooled.idf")],
        "weather": [CHICAGO],
        "run_period": {"start": "01-01", "end": "01-07"},
        "slots": 2,
        "construction_sets": {
            "baseline": {},
            "insulated-walls": {"exterior_wall": INSULATED_WALL},
            "triple-glazing": {"window": TRIPLE_GLAZING},
        },
    }
    data.update(overrides)
    return data


@pytest.fixture
def write_study(tmp_path: Path) -> Callable[..., Path]:
    """Write a study file (from ``study_data`` plus overrides) and return its path."""

    def write(
        data: dict[str, Any] | None = None, name: str = "study.yaml", **overrides: Any
    ) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data if data is not None else study_data(**overrides)))
        return path

    return write
