"""The ``epbatch`` command as a user runs it: a real process, real engine, real Prefect."""

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import GOLDEN, study_data
from tests.flows.helpers import max_overlap
from tests.prefect_server import free_port

pytestmark = [pytest.mark.prefect, pytest.mark.engine]


def epbatch(
    *args: str,
    cwd: Path,
    api_url: str | None = None,
    home: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``epbatch``; its output goes to files, so a child left behind cannot hold a pipe."""
    env = cli_env(api_url, home) | (extra_env or {})
    command = [sys.executable, "-m", "epbatch.ops.cli", *args]
    out, err = cwd / "epbatch.out", cwd / "epbatch.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        done = subprocess.run(
            command, cwd=cwd, env=env, stdout=stdout, stderr=stderr, timeout=600, check=False
        )
    return subprocess.CompletedProcess(command, done.returncode, out.read_text(), err.read_text())


def cli_env(api_url: str | None = None, home: Path | None = None) -> dict[str, str]:
    """This environment without Prefect's API or epbatch's settings, with these instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "EPBATCH_"))}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if home:
        env["PREFECT_HOME"] = str(home)
    return env


def one_design_day_variant(write_study: Callable[..., Path], models: Path) -> Path:
    """A study of one 1ZoneUncontrolled variant on design days (a run of a few seconds)."""
    return write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}},
        )
    )


def processes_with(environment_entry: str) -> list[int]:
    """Live processes whose environment holds ``environment_entry`` (e.g. ``PREFECT_HOME=...``)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if environment_entry.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def test_demo_cold_start_exits_0_and_insulation_helps(tmp_path):
    home, temp = tmp_path / "prefect-home", tmp_path / "tmp"
    temp.mkdir()
    # no server: the run starts its own, logging to a temporary file
    done = epbatch("demo", cwd=tmp_path, home=home, extra_env={"TMPDIR": str(temp)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert not processes_with(f"PREFECT_HOME={home}"), "the temporary server outlived epbatch"
    assert not list(temp.glob("epbatch-prefect-server-*.log")), "its log outlived a good run"
    # Its task-run recorder writes in batches: what it held was written when it stopped.
    with sqlite3.connect(home / "prefect.db") as db:
        states = db.execute("SELECT name, state_type FROM task_run").fetchall()
    variants = sorted(state for name, state in states if name.startswith("shoebox__"))
    assert variants == ["COMPLETED"] * 3, states
    assert "3 of 3 variants succeeded, 0 failed" in done.stdout
    [parquet] = (tmp_path / "epbatch-runs" / "demo").glob("*/results.parquet")
    heating = pd.read_parquet(parquet).set_index("construction_set")["heating_gj"]
    assert heating["insulated-walls"] < heating["baseline"] * 0.95
    assert heating["triple-glazing"] < heating["baseline"] * 0.95
    assert (tmp_path / "epbatch-runs" / "epbatch.sqlite").is_file()


def test_some_failed_exits_1_with_results_stored(prefect_api, write_study, models, tmp_path):
    broken = tmp_path / "broken.idf"
    broken.write_text((models / "1ZoneUncontrolled.idf").read_text().replace("R31LAYER;", "NOPE;"))
    study = write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf"), str(broken)],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}},
        )
    )
    done = epbatch("--output-dir", "out", "run", str(study), cwd=tmp_path, api_url=prefect_api)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "1 of 2 variants succeeded, 1 failed" in done.stdout
    [csv] = (tmp_path / "out").glob("*/*/results.csv")
    assert sorted(pd.read_csv(csv)["status"]) == ["failed", "succeeded"]


def test_all_succeeded_exits_0_against_a_running_server(prefect_api, write_study, models, tmp_path):
    study = one_design_day_variant(write_study, models)
    done = epbatch("--output-dir", "out", "run", str(study), cwd=tmp_path, api_url=prefect_api)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 of 1 variants succeeded" in done.stdout


def test_the_running_server_is_seen_to_have_csrf_protection_off(prefect_api):
    """So ``epbatch run`` skips the CSRF-token request each new API client (one per task) makes."""
    from epbatch.ops.server import csrf_off

    assert csrf_off(prefect_api)


def test_a_killed_cold_run_leaves_no_temporary_server(models, write_study, tmp_path):
    """``kill -9`` of ``epbatch run`` cannot stop its server itself: the server's parent-death
    signal does."""
    home = tmp_path / "prefect-home"
    study = one_design_day_variant(write_study, models)
    command = [sys.executable, "-m", "epbatch.ops.cli", "--output-dir", "out", "run", str(study)]
    run = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=cli_env(home=home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: servers_of(home), timeout_s=120), "no temporary server started"
    finally:
        run.kill()
        run.wait()
    assert wait_until(lambda: not processes_with(f"PREFECT_HOME={home}"), timeout_s=30), (
        "the temporary server outlived a killed epbatch run"
    )


def test_a_temporary_server_that_cannot_start_exits_4_with_its_output(
    models, write_study, tmp_path
):
    """Its database unreachable, the run's own server exits: the user gets the end of its
    output and the path of its log, not a traceback of ours, and no flow run starts."""
    home, temp = tmp_path / "prefect-home", tmp_path / "tmp"
    temp.mkdir()
    study = one_design_day_variant(write_study, models)
    closed = f"postgresql+asyncpg://nobody:x@127.0.0.1:{free_port()}/nowhere"
    extra = {"TMPDIR": str(temp), "PREFECT_API_DATABASE_CONNECTION_URL": closed}
    done = epbatch(
        "--output-dir", "out", "run", str(study), cwd=tmp_path, home=home, extra_env=extra
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "epbatch: could not start a Prefect server for this run:" in done.stderr
    assert "the Prefect server exited with code" in done.stderr
    [log] = temp.glob("epbatch-prefect-server-*.log")
    assert f"(its whole output: {log})" in done.stderr
    output = log.read_text()
    assert "Connect call failed" in output or "refused" in output.lower()
    assert "Traceback" not in done.stderr.split("could not start")[0]  # none of ours before it
    assert not (tmp_path / "out").exists(), "a batch started"
    assert not processes_with(f"PREFECT_HOME={home}")


def test_a_named_server_that_does_not_answer_exits_4_before_any_batch(
    models, write_study, tmp_path
):
    """PREFECT_API_URL names a server that is not there: a message saying so, not exit 1
    with Prefect's traceback after its retries, and no temporary server instead of it."""
    study = one_design_day_variant(write_study, models)
    nowhere = f"http://127.0.0.1:{free_port()}/api"
    done = epbatch("--output-dir", "out", "run", str(study), cwd=tmp_path, api_url=nowhere)
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"epbatch: no Prefect server answers at {nowhere}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists(), "a batch started"


def servers_of(home: Path) -> list[int]:
    """Prefect server processes started with PREFECT_HOME=``home``."""
    return [
        pid
        for pid in processes_with(f"PREFECT_HOME={home}")
        if b"server\0start" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def wait_until(condition: Callable[[], object], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


def test_a_cold_run_simulates_while_its_server_boots(engine, models, write_study, tmp_path):
    """No server, a new PREFECT_HOME (a first run): engines start before the flow does, each
    variant is simulated once (its task run takes the head start's result), never more than
    the slots at once, and every variant's task run and row exist."""
    from tests.flows.helpers import engine_runs, timed_engine

    log = tmp_path / "engines.log"
    study = write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period={"start": "01-01", "end": "03-31"},
            slots=2,
            construction_sets={f"roof-{i}": roof(1.0 + i) for i in range(6)},
        )
    )
    home = tmp_path / "prefect-home"
    done = epbatch(
        "--output-dir",
        "out",
        "run",
        str(study),
        cwd=tmp_path,
        home=home,
        extra_env={"EPBATCH_ENERGYPLUS": str(timed_engine(engine, tmp_path / "engine", log))},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = engine_runs(log)
    intervals = [(start, end) for start, end, _ in runs.values() if end is not None]
    assert len(intervals) == len(runs) == 6  # each variant simulated once, by one engine
    assert max_overlap(intervals) == 2
    with sqlite3.connect(home / "prefect.db") as db:  # the run's own server's database
        began = db.execute("SELECT timestamp FROM log WHERE message LIKE 'Beginning flow run%'")
        [(flow_began,)] = began.fetchall()  # Prefect's line: in the UI's logs, not the terminal
        states = db.execute("SELECT state_type FROM task_run WHERE name LIKE '1zone%'").fetchall()
    flow_start = datetime.fromisoformat(flow_began)
    if flow_start.tzinfo is None:
        flow_start = flow_start.replace(tzinfo=UTC)
    assert min(start for start, _ in intervals) < flow_start.timestamp()  # the head start
    assert sorted(states) == [("COMPLETED",)] * 6
    [csv] = (tmp_path / "out").glob("*/*/results.csv")
    assert sorted(pd.read_csv(csv)["status"]) == ["succeeded"] * 6


def roof(resistance: float) -> dict[str, object]:
    return {"roof": {"layers": [{"material": "Board", "thermal_resistance": resistance}]}}
