"""What a user sees in the terminal of real ``epbatch`` runs (issue 14, "In the terminal"):
lines at once, one summary, a readable table, ``cached`` on a re-run with its outputs
linked, design-day loads, the status of a finished batch."""

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import GOLDEN, TRIPLE_GLAZING, study_data
from tests.flows.test_cli import epbatch
from tests.flows.test_ui import flow_runs_named_like, wait_for_logs

pytestmark = [pytest.mark.prefect, pytest.mark.engine]


def test_a_design_day_study_run_again_from_the_cache(prefect_api, write_study, models, tmp_path):
    study = write_study(
        study_data(
            models=[str(models / "5ZoneAirCooled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}, "triple-glazing": {"window": TRIPLE_GLAZING}},
        )
    )
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    options = ("--output-dir", "out", "--database-url", url)  # after the subcommand
    cache = {"PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "prefect-results")}  # nothing reused

    first = epbatch("run", str(study), *options, cwd=tmp_path, api_url=prefect_api, extra_env=cache)
    assert first.returncode == 0, first.stderr[-3000:]
    err = first.stderr
    assert "epbatch: checking study.yaml: 1 model, 1 weather file, 2 construction sets" in err
    assert f"epbatch: reporting to the Prefect server at {prefect_api}" in err
    assert "variants planned on 2 slots" in err
    assert err.index("checking") < err.index("reporting") < err.index("planned")
    assert first.stdout.count("variants succeeded") == 1, first.stdout  # the summary, once
    assert "variants succeeded" not in err  # not in Prefect's log lines either
    assert_no_prefect_run_lines(first.stdout + err)
    [first_csv] = (tmp_path / "out").glob("*/*/results.csv")
    [run] = flow_runs_named_like(first_csv.parent.name)
    assert (
        f"epbatch: the flow run in the Prefect UI: {prefect_api[:-4]}/runs/flow-run/{run.id}\n"
        in err
    )
    messages = wait_for_logs(
        run.id, lambda lines: sum("Finished in state" in m for m in lines) >= 3
    )
    assert any(m.startswith("Beginning flow run") for m in messages)  # the UI has them all
    assert sum(" succeeded in " in m for m in messages) == 2
    assert "epbatch: note: design days only: the annual energy columns are 0" in err
    assert "design_heating/cooling_kw: the zones' design loads" in err
    header, *rows = first.stdout.splitlines()[:3]
    assert "design_heating_kw" in header and "site_energy_gj" not in header
    assert all(row.split()[1] == "succeeded" for row in rows)
    frame = pd.read_csv(first_csv)
    assert (frame["design_heating_kw"] > 1).all() and (frame["design_cooling_kw"] > 1).all()
    assert frame["cached_from"].isna().all()
    assert (tmp_path / "results.sqlite").is_file()  # --database-url after `run` was used

    again = epbatch("run", str(study), *options, cwd=tmp_path, api_url=prefect_api, extra_env=cache)
    assert again.returncode == 0, again.stderr[-3000:]
    first_batch = first_csv.parent.name
    [csv] = [p for p in (tmp_path / "out").glob("*/*/results.csv") if p != first_csv]
    frame = pd.read_csv(csv)
    assert frame["cached_from"].tolist() == [first_batch, first_batch]
    assert "2 of 2 variants succeeded, 0 failed (2 cached)" in again.stdout
    assert [row.split()[1] for row in again.stdout.splitlines()[1:3]] == ["cached", "cached"]
    for variant in frame["variant_id"]:
        out = csv.parent / "variants" / variant / "out"
        assert out.is_symlink() and (out / "eplusout.sql").is_file()
        assert out.resolve() == (first_csv.parent / "variants" / variant / "out").resolve()

    status = epbatch("status", "--output-dir", "out", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert f"batch {csv.parent.name}: 2 of 2 variants done" in status.stdout
    assert "finished at" in status.stdout and "ETA" not in status.stdout

    stored = epbatch("aggregate", csv.parent.name, *options, cwd=tmp_path)
    assert stored.returncode == 0, stored.stderr
    assert "stored 2 variants (2 succeeded, 0 failed, 2 cached)" in stored.stdout


def test_a_run_on_its_own_server_says_the_ui_goes_with_it(write_study, models, tmp_path):
    """No server to report to: the run says it starts one, prints no link to it (it has no
    UI and stops with the run), and says how to keep one."""
    study = write_study(
        study_data(
            models=[str(models / "1ZoneUncontrolled.idf")],
            weather=[GOLDEN],
            run_period="design-days",
            construction_sets={"baseline": {}},
        )
    )
    home = tmp_path / "prefect-home"
    done = epbatch("run", str(study), "--output-dir", "out", cwd=tmp_path, home=home)
    assert done.returncode == 0, done.stderr[-3000:]
    err = done.stderr
    assert "epbatch: starting a Prefect server for this run" in err
    assert "View at http" not in err + done.stdout
    assert "Prefect UI" not in err  # no link to a server that stops with the run
    assert_no_prefect_run_lines(done.stdout + err)
    assert "no zone sizing in the model(s): no design loads either" in err
    last = err.strip().splitlines()[-2:]
    assert "stopped with it: no UI keeps this run" in last[0]
    assert "start `epbatch server`" in last[1]
    assert done.stdout.count("1 of 1 variants succeeded") == 1
    assert Path(tmp_path / "out").is_dir()


def assert_no_prefect_run_lines(terminal: str) -> None:
    """None of the lines Prefect's console handler prints for flow and task runs."""
    for prefect_line in ("Flow run '", "Task run '", "Finished in state", "| INFO", "View at"):
        assert prefect_line not in terminal, terminal
