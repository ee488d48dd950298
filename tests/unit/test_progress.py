"""Batch progress: counts, ETA, progress.json and `epbatch status`."""

from pathlib import Path

from epbatch.cli import main
from epbatch.progress import BatchProgress, engine_running, read_progress, subscribe, tracked
from epbatch.results import VariantResult


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
