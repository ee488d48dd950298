"""Real EnergyPlus runs on the NREL example models, on short run periods."""

import stat
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from epbatch.run.simulate import RunOptions, simulate_variant
from epbatch.settings import Settings
from epbatch.variants.plan import plan_batch
from tests.conftest import GOLDEN

pytestmark = pytest.mark.engine


def plan(study_file: Path, tmp_path: Path):
    return plan_batch(study_file, Settings(output_dir=tmp_path / "runs"))


def test_insulation_and_glazing_lower_heating_on_a_heated_model(write_study, tmp_path):
    batch = plan(write_study(), tmp_path)
    results = {v.construction_set: simulate_variant(v, batch.options) for v in batch.variants}
    assert {r.status for r in results.values()} == {"succeeded"}, results
    heating = {name: r.heating_gj or 0.0 for name, r in results.items()}
    base = results["baseline"]
    assert heating["baseline"] > 0 and base.site_energy_gj and base.eui_mj_m2
    assert base.floor_area_m2 == pytest.approx(927.2, abs=1)  # five zones and the plenum
    assert heating["insulated-walls"] < 0.95 * heating["baseline"]
    assert heating["triple-glazing"] < 0.95 * heating["baseline"]
    assert base.warnings >= 2 and base.severe_errors == 0  # the 26.2 -> 25.2 version warnings
    out = batch.variants[0].folder / "out"
    assert {p.name for p in out.iterdir()} == {"eplusout.sql", "eplusout.err", "energyplus.log"}


def test_retention_all_keeps_every_report(write_study, tmp_path):
    study = write_study(construction_sets={"baseline": {}})
    batch = plan_batch(study, Settings(output_dir=tmp_path / "runs", keep_outputs="all"))
    assert simulate_variant(batch.variants[0], batch.options).status == "succeeded"
    kept = {p.name for p in (batch.variants[0].folder / "out").iterdir()}
    assert {"eplusout.sql", "eplustbl.htm", "eplusout.eso"} <= kept


def test_the_engine_skips_files_retention_would_delete_with_the_same_results(write_study, tmp_path):
    study = write_study(construction_sets={"baseline": {}})
    lean = plan(study, tmp_path / "lean")
    full = plan_batch(study, Settings(output_dir=tmp_path / "full", keep_outputs="all"))
    results = [
        simulate_variant(b.variants[0], replace(b.options, keep_outputs="all"))
        for b in (lean, full)
    ]
    written = [{p.name for p in (b.variants[0].folder / "out").iterdir()} for b in (lean, full)]
    assert {"eplusout.eso", "eplustbl.htm", "eplusout.mtr"} <= written[1]
    assert not {"eplusout.eso", "eplustbl.htm", "eplusout.mtr"} & written[0]
    assert {"eplusout.sql", "eplusout.err", "eplusout.eio", "eplusout.end"} <= written[0]
    same = ("status", "site_energy_gj", "eui_mj_m2", "heating_gj", "cooling_gj", "floor_area_m2")
    assert [getattr(results[0], f) for f in same] == [getattr(results[1], f) for f in same]


def test_broken_model_fails_with_the_parsed_message(write_study, models, tmp_path):
    text = (models / "1ZoneUncontrolled.idf").read_text()
    broken = tmp_path / "broken.idf"
    broken.write_text(
        text.replace(
            "R13WALL,                 !- Construction Name",
            "NO SUCH WALL,            !- Construction Name",
            1,
        )
    )
    assert broken.read_text() != text
    batch = plan(
        write_study(models=[str(broken)], weather=[GOLDEN], construction_sets={"baseline": {}}),
        tmp_path,
    )
    [result] = [simulate_variant(v, batch.options) for v in batch.variants]
    assert result.status == "failed"
    assert result.severe_errors >= 1
    assert result.error is not None and "NO SUCH WALL" in result.error
    assert result.site_energy_gj is None
    assert (batch.variants[0].folder / "out" / "eplusout.audit").is_file()  # failures keep all


def test_timeout_kills_the_engine(write_study, models, tmp_path):
    data_file = write_study(
        models=[str(models / "5ZoneAirCooled.idf")],
        run_period="annual",
        construction_sets={"baseline": {}},
    )
    batch = plan(data_file, tmp_path)
    options = RunOptions(batch.batch_id, batch.options.executable, "run-period", timeout_s=1.0)
    [variant] = batch.variants
    result = simulate_variant(variant, options)
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("timeout after 1.")
    running = subprocess.run(["pgrep", "-f", str(variant.idf)], capture_output=True, check=False)
    assert [p for p in running.stdout.split() if alive(int(p))] == [], "engine outlived timeout"


def alive(pid: int) -> bool:
    """Running, not merely a zombie nobody has reaped yet."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def fake_engine(tmp_path: Path, script: str) -> Path:
    """A stand-in executable, to test what the real engine does not do on demand."""
    path = tmp_path / "fake-energyplus"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ("exit 0", "EnergyPlus wrote no eplusout.err"),
        (
            "echo '   ************* EnergyPlus Completed Successfully-- 0 Warning; 0 Severe Errors'"
            " > eplusout.err",
            "EnergyPlus wrote no eplusout.sql",
        ),
        ("echo crashed >&2; exit 139", "EnergyPlus exited with code 139: crashed"),
    ],
)
def test_a_run_without_its_outputs_is_a_failure(write_study, tmp_path, script, error):
    batch = plan(write_study(construction_sets={"baseline": {}}), tmp_path)
    options = RunOptions(batch.batch_id, fake_engine(tmp_path, script), "run-period", 10)
    result = simulate_variant(batch.variants[0], options)
    assert (result.status, result.error) == ("failed", error)


def test_timeout_kills_the_whole_process_tree(write_study, tmp_path):
    batch = plan(write_study(construction_sets={"baseline": {}}), tmp_path)
    marker = tmp_path / "child.pid"
    engine = fake_engine(tmp_path, f"sleep 60 & echo $! > {marker}; wait")
    start = time.monotonic()
    result = simulate_variant(batch.variants[0], RunOptions("b", engine, "run-period", 0.5))
    assert time.monotonic() - start < 10
    assert result.error is not None and result.error.startswith("timeout after 0.5")
    time.sleep(0.2)
    assert not alive(int(marker.read_text())), "the engine's child outlived the timeout"
