"""What the Prefect UI shows of a batch, read from a real ``epbatch server`` (its API)."""

import json
import re
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterName,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import Artifact, FlowRun, Log

from epbatch.results.records import LEADING_COLUMNS
from epbatch.run.engine import Engine
from flows.artifacts import MIN_GAP_S, SETTLE_S
from tests.conftest import GOLDEN, INSULATED_WALL, study_data
from tests.flows.conftest import SLOTS
from tests.flows.helpers import epbatch_process, kill_if_running
from tests.flows.test_cli import epbatch
from tests.reliability.conftest import roof_study, stand_in_engine

pytestmark = [pytest.mark.prefect, pytest.mark.engine]


def flow_runs_named_like(text: str) -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=text))
        )


def flow_run_artifacts(flow_run_id: UUID) -> list[Artifact]:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )


def flow_run_logs(flow_run_id: UUID) -> list[Log]:
    with get_client(sync_client=True) as client:
        return client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))


def wait_for_logs(
    flow_run_id: UUID, enough: Callable[[list[str]], bool], task_runs_only: bool = False
) -> list[str]:
    """The run's log messages once ``enough`` says so, or after 30 s (the server may still be
    writing what it was sent)."""
    deadline = time.monotonic() + 30
    while True:
        logs = flow_run_logs(flow_run_id)
        lines = [log.message for log in logs if log.task_run_id or not task_runs_only]
        if enough(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(1)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - the test's server
        return json.loads(response.read())


def test_the_ui_of_a_server_on_another_port_calls_the_api_there(prefect_env):
    api = prefect_env["PREFECT_API_URL"]
    assert not api.endswith(":4200/api")  # the fixture's server runs on a free port
    assert get_json(api.removesuffix("/api") + "/ui-settings")["api_url"] == api
    settings = get_json(f"{api}/admin/settings")
    assert settings["server"]["ui"]["show_promotional_content"] is False


def test_failed_variants_fail_the_flow_run_which_is_named_after_the_batch(
    prefect_api, write_study, models, tmp_path
):
    """``epbatch run`` still prints the table, stores every row and exits 1; the flow run ends
    Failed saying how many failed; each task run logs its key results or its failure."""
    broken = tmp_path / "broken.idf"
    broken.write_text((models / "1ZoneUncontrolled.idf").read_text().replace("R31LAYER;", "NOPE;"))
    name = f"ui-failed-{uuid.uuid4().hex[:6]}"
    study = write_study(
        study_data(
            name=name,
            models=[str(models / "1ZoneUncontrolled.idf"), str(broken)],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}, "walls": {"exterior_wall": INSULATED_WALL}},
        )
    )
    fresh = {"PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results")}  # nothing from the cache
    done = epbatch(
        "--output-dir", "out", "run", str(study), cwd=tmp_path, api_url=prefect_api, extra_env=fresh
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "2 of 4 variants succeeded, 2 failed" in done.stdout
    assert done.stdout.count("broken__") == 2  # the table, failed rows included
    [folder] = (tmp_path / "out" / name).iterdir()
    assert len(pd.read_csv(folder / "results.csv")) == 4

    [run] = flow_runs_named_like(name)
    assert run.name == folder.name  # the batch id, which starts with the study name
    assert run.state is not None and run.state.is_failed()
    assert run.state.message == "2 of 4 variants failed; results stored"

    artifacts = {a.type: a for a in flow_run_artifacts(run.id)}
    assert sorted(a.type or "" for a in flow_run_artifacts(run.id)) == [
        "markdown",
        "progress",
        "table",
    ]
    table = json.loads(str(artifacts["table"].data))
    report = str(artifacts["markdown"].data)  # the batch report: EUI chart, savings table
    assert report.startswith("### Batch report: 2 of 4 variants succeeded, 2 failed")
    assert f"{folder / 'report.html'}" in report and (folder / "report.html").is_file()
    assert "](data:image/svg+xml;base64," in report
    assert "| variant | site GJ saved |" in report
    assert len(table) == 4 and list(table[0])[: len(LEADING_COLUMNS)] == LEADING_COLUMNS
    assert "batch_id" not in table[0] and "weather" not in table[0]  # the same on every row
    assert {"model", "construction_set"} <= set(table[0])  # they vary

    lines = wait_for_logs(
        run.id,
        lambda lines: sum(" succeeded in " in m or " failed after " in m for m in lines) >= 4,
        task_runs_only=True,
    )
    ok = [line for line in lines if " succeeded in " in line]
    failed = [line for line in lines if " failed after " in line]
    assert len(ok) == 2 and all(re.search(r"site energy \d+\.\d\d GJ, EUI ", s) for s in ok)
    assert all(re.search(r"; warnings \d+, severe \d+$", line) for line in ok)
    assert len(failed) == 2 and all("NOPE" in line for line in failed)


def test_a_fully_successful_batch_stays_completed(prefect_api, write_study, models, tmp_path):
    name = f"ui-ok-{uuid.uuid4().hex[:6]}"
    study = write_study(
        study_data(
            name=name,
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}},
        )
    )
    done = epbatch("--output-dir", "out", "run", str(study), cwd=tmp_path, api_url=prefect_api)
    assert done.returncode == 0, done.stderr[-3000:]
    [run] = flow_runs_named_like(name)
    [folder] = (tmp_path / "out" / name).iterdir()
    assert run.name == folder.name
    assert run.state is not None and run.state.is_completed()


HOLD_S = 14  # each stand-in engine holds its slot this long before the real run
VARIANTS = 4  # on 2 slots: two waves


def marks(folder: Path) -> tuple[int, int]:
    """Engines the stand-in started and ended so far."""
    return len(list(folder.glob("start.*"))), len(list(folder.glob("end.*")))


def test_one_progress_artifact_updated_in_place_counts_the_engines_running(
    prefect_env, prefect_api, engine: Engine, tmp_path
):
    """A stand-in engine holds each slot ``HOLD_S`` s. While engines run, the flow run has one
    artifact, a progress artifact created before the first variant ended, whose counts match
    the engines actually running once they have run for a refresh period."""
    seen = tmp_path / "engines"
    seen.mkdir()
    stand_in = stand_in_engine(
        engine,
        tmp_path / "engine",
        'case "$*" in\n'
        "  */variants/*)\n"
        f'    touch "{seen}/start.$$"; sleep {HOLD_S}; "$ENERGYPLUS" "$@"; status=$?\n'
        f'    touch "{seen}/end.$$"; exit $status ;;\n'
        "esac\n"
        'exec "$ENERGYPLUS" "$@"\n',
    )
    name = f"ui-progress-{uuid.uuid4().hex[:6]}"
    study = roof_study(tmp_path, name, VARIANTS, "design-days", first_r=7.25)
    env = prefect_env | {
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),  # nothing cached
        "EPBATCH_OUTPUT_DIR": str(tmp_path / "out"),
        "EPBATCH_ENERGYPLUS": str(stand_in),
    }
    process = epbatch_process(study, env, tmp_path / "epbatch.log")
    checked: list[tuple[int, int, str]] = []  # (started, ended, description) of stable moments
    before_first_end = False
    status, status_at = None, None  # `epbatch status` while the first wave holds both slots
    changed, last = time.monotonic(), marks(seen)
    seen_run: float | None = None
    try:
        while process.poll() is None:
            time.sleep(0.5)
            now = marks(seen)
            if now != last:
                changed, last = time.monotonic(), now
            runs = flow_runs_named_like(name)
            if not runs:
                continue
            if seen_run is None:  # the head start's engines may have started before it
                seen_run = changed = time.monotonic()
            [run] = runs
            artifacts = flow_run_artifacts(run.id)
            if marks(seen) != now or now[1] == VARIANTS:  # an engine started or ended meanwhile
                continue
            assert [a.type for a in artifacts] == ["progress"], artifacts
            before_first_end |= now[1] == 0
            if time.monotonic() - changed > MIN_GAP_S + SETTLE_S + 2:  # the artifact caught up
                checked.append((*now, str(artifacts[0].description)))
                if now == (2, 0) and status is None:
                    status = epbatch("status", cwd=tmp_path, api_url=prefect_api, extra_env=env)
                    status_at = (now, marks(seen))
        assert process.wait() == 0, (tmp_path / "epbatch.log").read_text()[-3000:]
    finally:
        kill_if_running(process)

    assert before_first_end
    [batch] = [p.name for p in (tmp_path / "out" / name).iterdir()]
    assert status is not None and status_at == ((2, 0), (2, 0)), status_at  # while both held
    assert status.returncode == 0, status.stderr
    assert f"batch {batch}: 0 of {VARIANTS} variants done" in status.stdout
    assert f"slots on the server (every batch): 2 of {SLOTS} in use\n" in status.stdout
    assert f"  {batch} (this batch): 2 slots\n" in status.stdout
    waves = {(started, ended) for started, ended, _ in checked}
    assert {(2, 0), (4, 2)} <= waves, waves  # both waves seen once the artifact caught up
    for started, ended, text in checked:
        running = started - ended
        counts = f"failed 0 · running {running} · queued {VARIANTS - ended - running}"
        assert counts in text, text
        assert f"**{ended} of {VARIANTS} variants done" in text, text
        slots = re.findall(r"^\| \d \| `[^`]+__roof-\d__[^`]+` \| \d+ s \|$", text, re.M)
        assert len(slots) == running, text  # each engine's slot, variant and time so far
        if ended:
            assert re.search(r"ETA \d\d:\d\d:\d\d UTC \(in ", text), text
        server = f"energyplus slots on the server (every batch): {running} of {SLOTS} in use"
        assert server in text, text  # the slots by batch: only this one runs on the server
        assert (f"| {batch} (this batch) | {running} |" in text) == (running > 0), text

    [run] = flow_runs_named_like(name)
    by_type = {a.type: a for a in flow_run_artifacts(run.id)}
    assert sorted(a.type or "" for a in flow_run_artifacts(run.id)) == [
        "markdown",
        "progress",
        "table",
    ]
    assert by_type["progress"].data == 100.0
    final = str(by_type["progress"].description)
    assert f"**{VARIANTS} of {VARIANTS} variants done (100 %)**" in final
    assert "running 0 · queued 0" in final and "finished " in final
    assert run.state is not None and run.state.is_completed()


def test_the_servers_slots_are_shown_by_the_batch_holding_them(prefect_api, tmp_path):
    """Another batch's task run holds an ``energyplus`` slot on the server: the holders query
    and ``epbatch status`` name its flow run (the batch) and how many slots it holds."""
    from prefect import flow, task
    from prefect.client.schemas.objects import ConcurrencyLeaseHolder

    from epbatch.ops.progress import BatchProgress
    from flows.holders import http_request, server_slots

    @flow
    def other_batch() -> None: ...

    @task
    def variant() -> None: ...

    deadline = time.monotonic() + 150  # a killed batch's lease (an earlier test) expires
    while (idle := server_slots(http_request(prefect_api))) is None or idle.active:
        assert time.monotonic() < deadline, idle
        time.sleep(1)
    other = f"other-batch-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(other_batch, name=other)
        task_run = client.create_task_run(variant, flow_run.id, "0", name="v")
        holder = ConcurrencyLeaseHolder(type="task_run", id=task_run.id)
        lease = client.increment_concurrency_slots_with_lease(
            ["tag:energyplus"], 1, "concurrency", lease_duration=60, holder=holder
        ).json()["lease_id"]
        try:
            slots = server_slots(http_request(prefect_api))
            progress = BatchProgress("mine", total=1, slots=1, folder=tmp_path / "s" / "mine")
            progress.folder.mkdir(parents=True)
            progress.publish()
            status = epbatch(
                "--output-dir", str(tmp_path), "status", cwd=tmp_path, api_url=prefect_api
            )
        finally:
            client.release_concurrency_slots_with_lease(UUID(lease))
    assert slots is not None and (slots.limit, slots.active) == (SLOTS, 1)
    assert slots.holders == {other: 1}
    assert status.returncode == 0, status.stderr
    assert status.stdout.endswith(
        f"energyplus slots on the server (every batch): 1 of {SLOTS} in use\n  {other}: 1 slot\n"
    ), status.stdout
    assert server_slots(http_request(prefect_api)) == type(slots)(SLOTS, 0, {})
