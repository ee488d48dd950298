"""Batch progress: counts, ETA, progress.json and `epbatch status`."""

import re
import time
from pathlib import Path

from epbatch.ops.cli import main
from epbatch.ops.progress import (
    BatchProgress,
    ServerSlots,
    engine_running,
    progress_markdown,
    read_progress,
    server_slot_lines,
    status_lines,
    subscribe,
    tracked,
)
from epbatch.results.records import LEADING_COLUMNS, VariantResult, outcome_line, table_rows
from epbatch.variants.plan import BatchSummary, failure_message, flow_run_name, new_batch_id
from tests.prefect_server import free_port


def result(status: str = "succeeded", runtime_s: float = 4.0) -> VariantResult:
    return VariantResult("b", "v", "m.idf", "w.epw", "s", status, runtime_s)  # type: ignore[arg-type]


def test_counts_eta_and_snapshot_file(tmp_path: Path):
    progress = BatchProgress("study-1", total=5, slots=2, folder=tmp_path / "study" / "study-1")
    progress.folder.mkdir(parents=True)
    seen: list[int] = []
    unsubscribe = subscribe(lambda p: seen.append(p.done))
    with tracked(progress):
        with engine_running("study-1"):
            assert read_progress(tmp_path)["running"] == 1  # type: ignore[index]
        progress.add(result(runtime_s=4.0))
        progress.add(result(status="failed", runtime_s=2.0))
        progress.add(result(runtime_s=9.0), cached=True)
    unsubscribe()
    data = read_progress(tmp_path, "study-1")
    assert data is not None
    assert (data["done"], data["succeeded"], data["failed"], data["cached"]) == (3, 2, 1, 1)
    assert (data["running"], data["queued"]) == (0, 2)
    assert data["eta_s"] == 3.0  # 2 left x median(4, 2) s / 2 slots; cached runs don't count
    assert seen[-1] == 3


def test_engine_running_outside_a_tracked_batch_is_a_no_op():
    with engine_running("not-tracked"):
        pass


def test_status_command(tmp_path: Path, capsys):
    progress = BatchProgress("s-2", total=2, slots=1, folder=tmp_path / "s" / "s-2")
    progress.folder.mkdir(parents=True)
    progress.add(result())
    assert main(["--output-dir", str(tmp_path), "status"]) == 0
    out = capsys.readouterr().out
    assert "batch s-2: 1 of 2 variants done" in out
    assert "succeeded 1 (cached 0), failed 0, running 0, queued 1" in out
    assert main(["--output-dir", str(tmp_path), "status", "nope"]) == 2


def test_status_of_a_running_batch_counts_on_from_its_last_snapshot(tmp_path: Path):
    progress = BatchProgress("s-3", total=3, slots=1, folder=tmp_path / "s" / "s-3")
    progress.folder.mkdir(parents=True)
    progress.add(result(runtime_s=10.0))
    data = read_progress(tmp_path, "s-3")
    assert data is not None and data["eta_s"] == 20.0
    later = data["updated"] + 15
    text = "\n".join(status_lines(data, now=later))
    assert "elapsed 15 s" in text and "ETA " in text and "(in 5 s)" in text
    stale = "\n".join(status_lines(data, now=data["updated"] + 600))
    assert "(in 0 s)" in stale and "last update 10 min 00 s ago" in stale


def test_status_says_nothing_of_the_servers_slots_at_once_when_no_server_answers(
    tmp_path: Path, capsys, monkeypatch
):
    progress = BatchProgress("s-7", total=1, slots=1, folder=tmp_path / "s" / "s-7")
    progress.folder.mkdir(parents=True)
    progress.publish()
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")  # nobody there
    began = time.monotonic()
    assert main(["--output-dir", str(tmp_path), "status"]) == 0
    assert time.monotonic() - began < 1.0  # the refused connection ends the query at once
    out = capsys.readouterr().out
    assert "batch s-7: 0 of 1 variants done" in out and "energyplus" not in out


def test_skipped_variants_count_as_done_and_the_reason_shows(tmp_path: Path, capsys):
    progress = BatchProgress("s-3", total=10, slots=2, folder=tmp_path / "s" / "s-3")
    progress.folder.mkdir(parents=True)
    for _ in range(3):
        progress.add(result(status="failed", runtime_s=1.0))
    progress.skip(5, "stopped: the first 3 finished variants all failed with the same message: x")
    data = read_progress(tmp_path, "s-3")
    assert data is not None
    assert (data["done"], data["skipped"], data["queued"]) == (8, 5, 2)
    assert data["eta_s"] == 1.0  # 2 left (the skipped are done) x 1 s / 2 slots
    assert main(["--output-dir", str(tmp_path), "status"]) == 0
    out = capsys.readouterr().out
    assert "failed 3, running 0, queued 2, skipped 5" in out
    assert "stopped: the first 3 finished variants all failed" in out


def test_each_running_engine_has_a_slot_number_and_a_start(tmp_path: Path):
    progress = BatchProgress("s-4", total=5, slots=2, folder=tmp_path / "s" / "s-4")
    progress.folder.mkdir(parents=True)
    with tracked(progress):
        with engine_running("s-4", "a"), engine_running("s-4", "b"):
            engines = read_progress(tmp_path, "s-4")["engines"]  # type: ignore[index]
            assert [(e["slot"], e["variant_id"]) for e in engines] == [(1, "a"), (2, "b")]
        with engine_running("s-4", "b"), engine_running("s-4", "c"):  # 1 is free again
            snapshot = progress.snapshot()
    assert [(e["slot"], e["variant_id"]) for e in snapshot["engines"]] == [(1, "b"), (2, "c")]
    assert (snapshot["running"], snapshot["queued"]) == (2, 3)
    assert progress.snapshot()["engines"] == [] and progress.running == 0


def test_the_ui_card_shows_counts_slots_and_the_eta_as_a_time_of_day(tmp_path: Path):
    progress = BatchProgress("s-5", total=35, slots=4, folder=tmp_path)
    for _ in range(12):
        progress.add(result(runtime_s=60.0))
    progress.engines = {1: ("m__set__w", time.time() - 72), 3: ("m__other__w", time.time() - 5)}
    progress.running = 2
    data = progress.snapshot()
    slots = ServerSlots(4, 4, {"s-5": 2, "other-batch": 1})
    text = progress_markdown(data, slots)
    assert "**12 of 35 variants done (34 %)**" in text
    assert "running 2 · queued 21" in text
    eta = time.strftime("%H:%M", time.gmtime(data["updated"] + 23 * 60 / 4))
    assert f"ETA {eta}:" in text and "(in 5 min 45 s)" in text
    assert re.search(r"\| 1 \| `m__set__w` \| 1 min 1[23] s \|", text)
    assert "| 2 | idle | |" in text and "| 4 | idle | |" in text
    assert "energyplus slots on the server (every batch): 4 of 4 in use" in text
    assert "| s-5 (this batch) | 2 |\n| other-batch | 1 |\n| holders not recorded yet" in text
    progress.add(result(status="failed"))
    assert "ETA" in progress_markdown(progress.snapshot())
    done = BatchProgress("s-6", total=1, slots=1, folder=tmp_path)
    assert "ETA unknown" in progress_markdown(done.snapshot())
    done.add(result())
    assert "**1 of 1 variants done (100 %)** · batch `s-6`" in progress_markdown(done.snapshot())
    assert "finished " in progress_markdown(done.snapshot())


def test_the_server_slots_by_batch_most_first_and_slots_no_batch_holds():
    slots = ServerSlots(limit=4, active=4, holders={"b-old": 1, "b-new": 2})
    assert server_slot_lines(slots, "b-old") == [
        "energyplus slots on the server (every batch): 4 of 4 in use",
        "  b-new: 2 slots",
        "  b-old (this batch): 1 slot",
        "  holders not recorded yet (or not task runs): 1 slot",
    ]
    assert server_slot_lines(ServerSlots(2, 0, {})) == [
        "energyplus slots on the server (every batch): 0 of 2 in use"
    ]
    head_start = ServerSlots(limit=3, active=3, holders={"b-other": 1})  # 2 taken before tasks
    assert server_slot_lines(head_start, "b-new", running=2) == [  # its 2 engines stand on them
        "energyplus slots on the server (every batch): 3 of 3 in use",
        "  b-new (this batch): 2 slots",
        "  b-other: 1 slot",
    ]
    assert server_slot_lines(head_start, "b-new", running=1)[-1] == (
        "  holders not recorded yet (or not task runs): 1 slot"
    )
    assert "no energyplus concurrency limit" in server_slot_lines(ServerSlots(None, 0, {}))[0]
    card = progress_markdown(BatchProgress("b", 1, 1, Path()).snapshot(), ServerSlots(2, 0, {}))
    assert card.endswith("\n\nenergyplus slots on the server (every batch): 0 of 2 in use")


def test_the_results_table_leads_with_the_energy_and_drops_constant_columns():
    rows = table_rows(
        [
            VariantResult(
                "b",
                "m__a__w",
                "m.idf",
                "w.epw",
                "a",
                "succeeded",
                2.0,
                site_energy_gj=48.0512,
                eui_mj_m2=500.0,
            ),
            VariantResult("b", "m__b__w", "m.idf", "w.epw", "b", "failed", 1.0, error="x" * 500),
        ]
    )
    assert list(rows[0])[: len(LEADING_COLUMNS)] == LEADING_COLUMNS
    assert LEADING_COLUMNS[:4] == ["variant_id", "status", "eui_mj_m2", "site_energy_gj"]
    rest = list(rows[0])[len(LEADING_COLUMNS) :]
    assert rest == ["construction_set", "runtime_s"]  # batch_id, model, weather… are constant
    assert rows[0]["site_energy_gj"] == 48.05
    assert len(rows[1]["error"]) == 160 and rows[1]["error"].endswith("…")


def test_a_variants_log_line_names_its_key_results_or_its_failure():
    ok = VariantResult(
        "b", "m__a__w", "m", "w", "a", "succeeded", 2.04, site_energy_gj=48.05,
        eui_mj_m2=512.34, heating_gj=24.39,
        cooling_gj=3.0, warnings=2,
    )  # fmt: skip
    assert outcome_line(ok) == (
        "m__a__w succeeded in 2.0 s: site energy 48.05 GJ, EUI 512.3 MJ/m2, heating 24.39 GJ, "
        "cooling 3.00 GJ; warnings 2, severe 0"
    )
    bad = VariantResult("b", "m__b__w", "m", "w", "b", "failed", 0.4, exit_code=1, error="boom")
    assert outcome_line(bad) == "m__b__w failed after 0.4 s, exit code 1: boom"


def test_a_batch_with_failures_says_so_in_its_final_state(tmp_path: Path):
    def summary(failed: int, skipped: int = 0) -> BatchSummary:
        reason = "stopped: why" if skipped else None
        return BatchSummary(
            "b", tmp_path, 6, 6 - failed - skipped, failed, "sqlite://", skipped, reason
        )

    assert failure_message(summary(0)) is None
    assert failure_message(summary(2)) == "2 of 6 variants failed; results stored"
    assert failure_message(summary(3, 3)) == (
        "3 of 6 variants failed, 3 skipped (stopped: why); results stored"
    )


def test_a_flow_run_is_named_after_its_study_and_batch():
    from datetime import UTC, datetime

    batch_id = new_batch_id("envelope-upgrades", datetime(2026, 12, 1, tzinfo=UTC))
    assert flow_run_name("envelope-upgrades", batch_id) == batch_id
    other = new_batch_id("Envelope upgrades", datetime(2026, 12, 1, tzinfo=UTC))
    assert flow_run_name("Envelope upgrades", other) == f"Envelope upgrades: {other}"
