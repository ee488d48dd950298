"""The failure budget end to end: a broken model stops its batch after a few engine runs,
the rest of the variants are stored as ``skipped`` and ``epbatch run`` exits 1 saying why."""

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from epbatch.run.engine import Engine
from epbatch.store.database import database, load_results
from tests.conftest import GOLDEN
from tests.reliability.conftest import ONE_ZONE, stand_in_engine

pytestmark = [pytest.mark.reliability, pytest.mark.engine, pytest.mark.prefect]

VARIANTS = 30  # the first-failures rule looks at the first max(3, 10 %) = 3
SLOTS = 2


def wall_sets(count: int) -> dict[str, object]:
    """Construction sets whose exterior walls differ: no two variants share a cache key."""
    return {
        f"wall-{i}": {
            "exterior_wall": {
                "layers": [
                    {
                        "material": "Block",
                        "thickness": 0.1 + 0.01 * i,
                        "conductivity": 0.5,
                        "density": 1000,
                        "specific_heat": 900,
                    }
                ]
            }
        }
        for i in range(count)
    }


def one_zone_study(name: str, model: Path, sets: dict[str, object]) -> dict[str, object]:
    return {
        "name": name,
        "models": [str(model)],
        "weather": [GOLDEN],
        "run_period": "design-days",
        "slots": SLOTS,
        "construction_sets": sets,
    }


def test_a_model_the_engine_rejects_stops_the_batch_after_a_few_runs(
    epbatch, broken_model, fresh_cache, tmp_path
):
    # Valid for the schema and the engine's input check; the engine stops on it at once.
    model = broken_model("broken-roof.idf", "R31LAYER;", "NO SUCH LAYER;")
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(one_zone_study("broken-roof", model, wall_sets(VARIANTS))))
    status, err = epbatch("run", str(study))

    assert status == 1, err[-3000:]
    reason = next(line for line in err.splitlines() if line.startswith("epbatch: stopped: "))
    assert reason.startswith(
        "epbatch: stopped: the first 3 finished variants all failed with the same message: "
    )
    assert "NO SUCH LAYER" in reason
    [folder] = (tmp_path / "out").glob("broken-roof/*")
    stored = load_results(database(f"sqlite:///{tmp_path / 'out' / 'epbatch.sqlite'}"), folder.name)
    saved = pd.read_parquet(folder / "results.parquet")
    for table in (stored, saved):
        assert sorted(table["construction_set"]) == sorted(wall_sets(VARIANTS))
        ran = table[table["status"] == "failed"]
        skipped = table[table["status"] == "skipped"]
        assert len(ran) + len(skipped) == VARIANTS
        # 2 per slot in flight when the budget is spent at the 3rd end, 2 submitted meanwhile
        assert 3 <= len(ran) <= 2 * SLOTS + 2
        assert set(skipped["error"]) == {reason.removeprefix("epbatch: ")}
        assert (skipped["runtime_s"] == 0).all() and skipped["exit_code"].isna().all()
    engine_runs = {p.parent.name for p in (folder / "variants").glob("*/out")}
    assert engine_runs == set(saved.loc[saved["status"] == "failed", "variant_id"])
    written = {p.name for p in (folder / "variants").iterdir()}
    assert written == engine_runs  # a skipped variant gets no folder, no IDF


def test_a_failed_share_over_the_budget_stops_the_batch_once_10_ended(
    epbatch, engine: Engine, fresh_cache, tmp_path: Path, monkeypatch
):
    """Variants ``bad-*`` fail at once, each with its own message (its path): the first rule
    does not apply, the share rule stops the batch at the 10th end."""
    stand_in = stand_in_engine(
        engine,
        tmp_path / "engine",
        'case "$*" in\n  *__bad-*) echo "rejected: $*"; exit 3 ;;\nesac\nexec "$ENERGYPLUS" "$@"\n',
    )
    monkeypatch.setenv("EPBATCH_ENERGYPLUS", str(stand_in))
    sets = wall_sets(VARIANTS)
    sets = {
        name.replace("wall", "ok" if i < 2 else "bad"): s
        for i, (name, s) in enumerate(sets.items())
    }
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(one_zone_study("mostly-bad", ONE_ZONE, sets), sort_keys=False))
    status, err = epbatch("run", str(study))

    assert status == 1, err[-3000:]
    reason = next(line for line in err.splitlines() if line.startswith("epbatch: stopped: "))
    assert re.fullmatch(
        r"epbatch: stopped: (8|9|10) of 10 finished variants failed \(failure_budget 0.5\)", reason
    ), reason
    [folder] = (tmp_path / "out").glob("mostly-bad/*")
    saved = pd.read_parquet(folder / "results.parquet")
    counts = saved["status"].value_counts().to_dict()
    # 2 per slot in flight; 9 submitted as the first 9 ended; those in flight end normally
    assert 10 <= VARIANTS - counts["skipped"] <= 2 * SLOTS + 9
    assert len(saved) == VARIANTS
    assert counts["succeeded"] == 2  # ok-0 and ok-1, submitted first, ended normally
