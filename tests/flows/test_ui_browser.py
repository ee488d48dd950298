"""The flow run page of a running batch as a user sees it, in Debian's headless Chromium.

A stand-in engine holds both slots of the test server until the test lets it go, so the page
is read while two variants run and one waits: the flow run's name (the batch id), its task
runs by variant, the progress artifact with its counts, slots and the server's slots by batch.
"""

import os
import re
import time
import uuid
from pathlib import Path

import pytest

from epbatch.run.engine import Engine
from tests.browser import chromium
from tests.flows.helpers import epbatch_process, kill_if_running
from tests.flows.test_ui import flow_run_artifacts, flow_runs_named_like, marks
from tests.reliability.conftest import roof_study, stand_in_engine

pytestmark = [pytest.mark.browser, pytest.mark.prefect, pytest.mark.engine]

VARIANTS = 3  # on 2 slots: two running, one queued while the engines are held
SCREENSHOTS = os.environ.get("EPBATCH_UI_SCREENSHOTS")  # also write them there (e.g. docs/)


def wait_until(ready, what: str, timeout_s: float = 240):
    deadline = time.monotonic() + timeout_s
    while not (value := ready()):
        assert time.monotonic() < deadline, f"{what}: not after {timeout_s} s"
        time.sleep(0.5)
    return value


def test_the_flow_run_page_of_a_running_batch(prefect_env, prefect_api, engine: Engine, tmp_path):
    seen, release = tmp_path / "engines", tmp_path / "release"
    seen.mkdir()
    stand_in = stand_in_engine(
        engine,
        tmp_path / "engine",
        'case "$*" in\n'
        "  */variants/*)\n"
        f'    touch "{seen}/start.$$"; n=0\n'
        f'    while [ ! -e "{release}" ] && [ $n -lt 1200 ]; do sleep 0.5; n=$((n+1)); done\n'
        '    "$ENERGYPLUS" "$@"; status=$?\n'
        f'    touch "{seen}/end.$$"; exit $status ;;\n'
        "esac\n"
        'exec "$ENERGYPLUS" "$@"\n',
    )
    name = f"ui-page-{uuid.uuid4().hex[:6]}"
    study = roof_study(tmp_path, name, VARIANTS, "design-days", first_r=11.5)
    env = prefect_env | {
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),  # nothing cached
        "EPBATCH_OUTPUT_DIR": str(tmp_path / "out"),
        "EPBATCH_ENERGYPLUS": str(stand_in),
    }
    process = epbatch_process(study, env, tmp_path / "epbatch.log")
    try:
        wait_until(lambda: marks(seen) == (2, 0), "both slots held")
        [run] = wait_until(lambda: flow_runs_named_like(name), "the flow run")
        batch = run.name
        assert batch.startswith(f"{name}-"), batch  # named after the batch, not "foamy-wallaby"
        running = sorted(p.name for p in (tmp_path / "out" / name / batch / "variants").iterdir())
        wait_until(  # the progress card has caught up with both engines
            lambda: any(
                "running 2 · queued 1" in str(a.description) for a in flow_run_artifacts(run.id)
            ),
            "the progress artifact",
        )
        ui = prefect_env["PREFECT_API_URL"].removesuffix("/api")
        with chromium(tmp_path / "browser") as page:
            page.goto(f"{ui}/runs/flow-run/{run.id}")
            text = page.wait_for(lambda t: batch in t and "Running" in t)
            assert "Can't connect" not in text

            page.click("Task Runs")
            text = page.wait_for(lambda t: sum(v in t for v in running) >= 2)
            shown = [v for v in running if v in text]
            assert len(shown) >= 2, text  # each running variant's task run, by its name
            page.screenshot(tmp_path / "ui-flow-run.png")

            page.click("Artifacts")  # its card: the key and the first line
            key = f"{batch.lower()}-progress"
            text = page.wait_for(lambda t: key in t and "variants done" in t)
            assert f"0 of {VARIANTS} variants done (0 %) · batch {batch}" in text, text

            page.click(key)  # the artifact's page: the whole progress card
            text = page.wait_for(lambda t: "running 2" in t)
            assert "running 2 · queued 1" in text, text
            slots = re.findall(r"^\s*[12]\s+\S+__roof-\d__\S+\s+\d+ s\s*$", text, re.M)
            assert len(slots) == 2, text  # each slot with its variant and for how long
            assert "energyplus slots on the server (every batch): 2 of 2 in use" in text, text
            assert re.search(rf"{re.escape(batch)} \(this batch\)\s+2", text), text
            page.screenshot(tmp_path / "ui-progress.png")
        if SCREENSHOTS:
            for png in ("ui-flow-run.png", "ui-progress.png"):
                (Path(SCREENSHOTS) / png).write_bytes((tmp_path / png).read_bytes())
        release.touch()
        assert process.wait(timeout=300) == 0, (tmp_path / "epbatch.log").read_text()[-3000:]
    finally:
        release.touch()
        kill_if_running(process)
