"""Faults during a run: the database unreachable when storing, an engine that hits a file-size
limit or a full disk, an engine that hangs. Each stays with its batch or variant, says what
happened, and loses nothing."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from epbatch.ops.cli import main
from epbatch.run.engine import Engine
from epbatch.run.simulate import simulate_variant
from epbatch.settings import Settings, get_settings
from epbatch.variants.plan import BATCH_FILE, StorageError, plan_batch
from flows.batch import batch_summary, run_energyplus_batch
from tests.conftest import GOLDEN, study_data
from tests.engine.test_simulate import alive
from tests.flows.helpers import busy_slots, task_runs
from tests.prefect_server import free_port
from tests.reliability.conftest import ONE_ZONE, stand_in_engine

pytestmark = [pytest.mark.reliability, pytest.mark.engine]

FSIZE_BLOCKS = 64  # `ulimit -f`: far below what one design-day run writes (~1 MB)


def roofs(*names: str) -> dict[str, Any]:
    """Construction sets that differ (so no two variants share a cache key)."""
    return {
        name: {"roof": {"layers": [{"material": "Board", "thermal_resistance": 2.0 + i}]}}
        for i, name in enumerate(names)
    }


def small_study(**overrides: Any) -> dict[str, Any]:
    data = study_data(
        models=[str(ONE_ZONE)],
        weather=[GOLDEN],
        run_period="design-days",
        construction_sets=roofs("a", "b"),
    )
    return data | overrides


def rows_in(url: str) -> tuple[int, int, int]:
    """(batches, result rows, distinct variant ids) stored at ``url``."""
    with create_engine(url).connect() as db:
        batches = db.execute(text("SELECT count(*) FROM batches")).scalar_one()
        rows = db.execute(text("SELECT count(*), count(DISTINCT variant_id) FROM results")).one()
    return batches, rows[0], rows[1]


# --- the database unreachable when the batch is stored ------------------------------------


@pytest.mark.prefect
def test_unwritable_database_keeps_the_results_and_aggregate_stores_them_later(
    output_dir, fresh_cache, write_study, monkeypatch, capsys
):
    blocker = output_dir.parent / "blocker"  # a file where the database's folder should be
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker}/results.sqlite"
    monkeypatch.setenv("EPBATCH_DATABASE_URL", url)
    get_settings.cache_clear()
    study = write_study(small_study())

    with pytest.raises(StorageError) as caught:
        run_energyplus_batch(str(study))

    [info_file] = output_dir.glob(f"*/*/{BATCH_FILE}")
    info = json.loads(info_file.read_text())
    batch_id, folder = info["batch_id"], info_file.parent
    message = str(caught.value)
    assert message.startswith(f"batch {batch_id}: the results are saved in {folder}/results")
    assert f"epbatch --output-dir {output_dir.resolve()} aggregate {batch_id}" in message
    saved = pd.read_parquet(folder / "results.parquet")
    assert sorted(saved["status"]) == ["succeeded", "succeeded"]
    assert len(pd.read_csv(folder / "results.csv")) == 2
    assert info["finished_at"] and info["engine_version"] == "25.2.0"

    blocker.unlink()  # the database is reachable again
    for _ in range(2):  # twice: the second replaces the rows, no duplicates
        assert main(["--output-dir", str(output_dir), "aggregate", batch_id]) == 0
        assert (
            f"batch {batch_id}: stored 2 variants (2 succeeded, 0 failed)"
            in capsys.readouterr().out
        )
        assert rows_in(url) == (1, 2, 2)
    from epbatch.store.database import database, load_results

    stored = load_results(database(url), batch_id)
    columns = ["variant_id", "status", "site_energy_gj", "heating_gj", "runtime_s", "warnings"]
    pd.testing.assert_frame_equal(
        stored[columns].sort_values("variant_id").reset_index(drop=True),
        saved[columns].sort_values("variant_id").reset_index(drop=True),
    )


@pytest.mark.prefect
def test_closed_postgres_port_exits_3_naming_the_batch_and_the_aggregate_command(
    prefect_env, write_study, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "runs"
    down = f"postgresql+psycopg://epbatch:s3cret@127.0.0.1:{free_port()}/results"  # nobody there
    env = prefect_env | {
        "EPBATCH_OUTPUT_DIR": str(out),
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "prefect-results"),
    }
    study = write_study(small_study())
    done = subprocess.run(
        [sys.executable, "-m", "epbatch.ops.cli", "--database-url", down, "run", str(study)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    [info_file] = out.glob(f"*/*/{BATCH_FILE}")
    batch_id = json.loads(info_file.read_text())["batch_id"]
    assert f"epbatch: batch {batch_id}: the results are saved in" in done.stderr
    assert f"aggregate {batch_id}`" in done.stderr and "OperationalError" in done.stderr
    assert "s3cret" not in done.stderr  # the URL is shown with its password hidden
    assert (info_file.parent / "results.parquet").is_file()

    monkeypatch.setenv("EPBATCH_OUTPUT_DIR", str(out))  # the CLI sets both: restored after
    monkeypatch.setenv("EPBATCH_DATABASE_URL", down)
    assert main(["--database-url", down, "aggregate", batch_id]) == 3  # still down: still safe
    assert f"batch {batch_id}: the results are saved in" in capsys.readouterr().err
    up = f"sqlite:///{tmp_path / 'results.sqlite'}"
    assert main(["--database-url", up, "aggregate", batch_id]) == 0
    assert rows_in(up) == (1, 2, 2)
    for wrong in ("no-such-batch-20200101T000000-abcdef", "../../etc", "*"):
        assert main(["--database-url", up, "aggregate", wrong]) == 2
        assert "epbatch: " in capsys.readouterr().err
    get_settings.cache_clear()


def test_aggregate_of_an_unfinished_batch_says_so(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "runs" / "s" / "s-20200101T000000-abcdef"
    folder.mkdir(parents=True)
    (folder / BATCH_FILE).write_text(
        json.dumps(
            {
                "batch_id": folder.name,
                "study_name": "s",
                "study_file": "s.yaml",
                "folder": str(folder),
                "engine_version": "25.2.0",
                "started_at": "2020-01-01T00:00:00+00:00",
            }
        )
    )
    monkeypatch.setenv("EPBATCH_OUTPUT_DIR", str(tmp_path / "runs"))
    assert main(["--output-dir", str(tmp_path / "runs"), "aggregate", folder.name]) == 2
    assert "has no results.parquet" in capsys.readouterr().err
    get_settings.cache_clear()


# --- the engine: a file-size limit, a full disk, a hang ---------------------------------------


@pytest.fixture
def faulty_engine(engine: Engine, tmp_path: Path) -> Path:
    """A stand-in ``energyplus``: it runs the real engine, except under ``ulimit -f`` for
    *fault-fsize* variants and forever for *fault-hang* ones (recording the pid of its sleeping
    child)."""
    return stand_in_engine(
        engine,
        tmp_path / "engine",
        'case "$*" in\n'
        f"  *fault-fsize*) ulimit -f {FSIZE_BLOCKS} ;;\n"
        f"  *fault-hang*) sleep 300 & echo $! >> {shlex.quote(str(tmp_path / 'hang.pids'))}\n"
        "    wait; exit 1 ;;\n"
        "esac\n"
        'exec "$ENERGYPLUS" "$@"\n',
    )


@pytest.mark.prefect
def test_a_file_size_limit_and_a_hang_fail_only_their_variants(
    output_dir, fresh_cache, write_study, faulty_engine, monkeypatch, tmp_path
):
    monkeypatch.setenv("EPBATCH_ENERGYPLUS", str(faulty_engine))
    get_settings.cache_clear()
    study = write_study(
        small_study(construction_sets=roofs("ok", "fault-fsize", "fault-hang"), timeout_s=3)
    )
    state = run_energyplus_batch(str(study), return_state=True)
    summary = batch_summary(state)
    assert (summary.succeeded, summary.failed) == (1, 2)

    table = pd.read_parquet(summary.folder / "results.parquet").set_index("construction_set")
    assert table.loc["ok", "status"] == "succeeded"
    fsize = table.loc["fault-fsize"]
    assert (fsize["status"], fsize["exit_code"]) == ("failed", -25)
    assert str(fsize["error"]).startswith("EnergyPlus was killed by SIGXFSZ: an output file")
    hang = table.loc["fault-hang"]
    assert hang["status"] == "failed" and str(hang["error"]).startswith("timeout after 3.")

    runs = {r.name.split("__")[1]: r for r in task_runs(state.state_details.flow_run_id)}
    assert runs["fault-fsize"].run_count == 1  # a file-size limit is not retried
    assert runs["fault-hang"].run_count == 3  # a timeout is: twice
    sleepers = [int(p) for p in (tmp_path / "hang.pids").read_text().split()]
    assert len(sleepers) == 3 and not any(alive(p) for p in sleepers)  # whole tree killed
    assert busy_slots() == 0  # every slot given back


def test_a_full_disk_fails_the_variant_instead_of_storing_a_partial_result(write_study, tmp_path):
    """EnergyPlus reports success on a full disk (outputs silently truncated, exit 0); the
    truncated eplusout.sql makes the variant fail, with a hint about the disk."""
    plan = plan_batch(write_study(small_study()), Settings(output_dir=tmp_path / "runs"))
    variant = plan.variants[0]
    out = variant.folder / "out"
    out.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        result = simulate_variant(variant, plan.options)
        free = os.statvfs(out).f_bavail
    finally:
        subprocess.run(["umount", str(out)], check=True)
    assert result.status == "failed" and result.site_energy_gj is None
    assert result.exit_code == 0  # the engine itself did not notice
    assert result.error is not None and "eplusout.sql" in result.error
    assert "it is probably full" in result.error and free == 0
    assert not result.retryable
