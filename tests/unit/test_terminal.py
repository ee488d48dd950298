"""What ``epbatch`` shows in the terminal: help, options in either place, the results table,
the status of a finished batch, cached variants, design-day loads."""

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from epbatch.ops.cli import _parser, main
from epbatch.ops.progress import BatchProgress
from epbatch.report.terminal import results_table
from epbatch.results.records import RESULT_COLUMNS, VariantResult
from epbatch.results.sqlresults import design_loads_kw
from epbatch.run.simulate import RunOptions, link_reused_outputs, reused_result
from epbatch.variants.generate import Variant
from epbatch.variants.plan import BatchInfo

LONG_ID = "5zoneaircooled__insulated-walls__usa-il-chicago-ohare-intl-ap-725300-tmy3"


def test_help_lists_exit_codes_and_environment_without_markup(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out and "  4  no Prefect server answered" in out
    for variable in ("EPBATCH_OUTPUT_DIR", "EPBATCH_DATABASE_URL", "EPBATCH_ENERGYPLUS"):
        assert variable in out
    assert "``" not in out


def test_the_study_argument_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "study file (YAML)" in out
    assert "--output-dir DIR" in out  # also after the subcommand


@pytest.mark.parametrize(
    "argv",
    [
        ["--output-dir", "X", "--database-url", "sqlite:///u", "run", "s.yaml"],
        ["run", "s.yaml", "--output-dir", "X", "--database-url", "sqlite:///u"],
        ["--output-dir", "X", "run", "s.yaml", "--database-url", "sqlite:///u"],
    ],
)
def test_common_options_before_or_after_the_subcommand(argv):
    args = _parser().parse_args(argv)
    assert (args.output_dir, args.database_url, args.study) == (
        Path("X"),
        "sqlite:///u",
        Path("s.yaml"),
    )


def test_options_after_the_subcommand_reach_the_settings(tmp_path: Path, capsys):
    """``epbatch status --output-dir X`` reads X (it was refused before)."""
    folder = tmp_path / "s" / "s-1"
    folder.mkdir(parents=True)
    progress = BatchProgress("s-1", total=1, slots=1, folder=folder)
    progress.publish()
    assert main(["status", "--output-dir", str(tmp_path)]) == 0
    assert "batch s-1: 0 of 1 variants done" in capsys.readouterr().out


def result(i: int, **extra) -> VariantResult:
    return VariantResult("b", f"{LONG_ID}-{i}", "m.idf", "w.epw", "s", "succeeded", 2.5, **extra)


def test_the_table_shows_whole_ids_and_cached_rows():
    rows = [
        result(1, site_energy_gj=48.051, cached_from="old-batch"),
        result(2, site_energy_gj=42.19),
        VariantResult("b", "x", "m", "w", "s", "failed", 0.4, error="** Severe ** " + "e" * 300),
    ]
    frame = pd.DataFrame([r.row() for r in rows], columns=RESULT_COLUMNS)
    lines = results_table(frame).splitlines()
    assert lines[0].split() == [
        "variant_id",
        "status",
        "runtime_s",
        "site_energy_gj",
        "eui_mj_m2",
        "heating_gj",
        "cooling_gj",
        "unmet_hours_heating",
        "warnings",
        "error",
    ]
    assert lines[1].split()[:3] == [f"{LONG_ID}-1", "cached", "48.05"]  # no run time of its own
    assert lines[2].split()[:4] == [f"{LONG_ID}-2", "succeeded", "2.50", "42.19"]
    assert "..." not in "\n".join(lines)
    assert lines[3].endswith("e…") and len(lines[3].split("** Severe **")[1]) < 110


def test_the_design_day_table_shows_design_loads():
    frame = pd.DataFrame(
        [result(1, design_heating_kw=13.49, design_cooling_kw=12.53).row()],
        columns=RESULT_COLUMNS,
    )
    header, row = results_table(frame, design_days=True).splitlines()
    assert "design_heating_kw" in header and "site_energy_gj" not in header
    assert "13.49" in row.split() and "12.53" in row.split()


def test_the_status_of_a_finished_batch_says_when_it_finished(tmp_path: Path, capsys):
    folder = tmp_path / "s" / "s-2"
    folder.mkdir(parents=True)
    progress = BatchProgress("s-2", total=1, slots=1, folder=folder, started=1_700_000_000.0)
    progress.add(result(1))
    BatchInfo(
        "s-2",
        "s",
        "s.yaml",
        str(folder),
        "25.2.0",
        "2023-11-14T22:13:20+00:00",
        finished_at="2023-11-14T22:15:25+00:00",  # 125 s after the start
    ).write()
    assert main(["--output-dir", str(tmp_path), "status"]) == 0
    out = capsys.readouterr().out
    assert "ETA" not in out
    assert "finished at 2023-11-1" in out and "took 2 min 05 s" in out


def test_the_status_of_a_running_batch_has_an_eta(tmp_path: Path, capsys):
    folder = tmp_path / "s" / "s-3"
    folder.mkdir(parents=True)
    progress = BatchProgress("s-3", total=3, slots=1, folder=folder)
    progress.add(result(1))
    assert main(["--output-dir", str(tmp_path), "status"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ETA \d\d:\d\d:\d\d UTC \(in [45] s\)", out), out
    assert "finished" not in out


def _variant(root: Path, batch: str, variant_id: str) -> Variant:
    folder = root / "study" / batch / "variants" / variant_id
    folder.mkdir(parents=True)
    return Variant(variant_id, "m.idf", "w.epw", "s", folder, root / "w.epw", "key")


def test_a_reused_result_names_its_batch_and_links_its_outputs(tmp_path: Path):
    original = _variant(tmp_path, "old", "m__s__w")
    (original.folder / "out").mkdir()
    (original.folder / "out" / "eplusout.sql").write_text("sql")
    again = _variant(tmp_path, "new", "m__s2__w")  # another set name, same content
    source = VariantResult("old", "m__s__w", "m.idf", "w.epw", "s", "succeeded", 2.0)
    options = RunOptions("new", Path("energyplus"), "run-period", 60.0)

    reused = reused_result(again, options, source, cached=True)
    assert (reused.batch_id, reused.variant_id, reused.cached_from) == ("new", "m__s2__w", "old")
    assert link_reused_outputs(again, source) == original.folder / "out"
    assert (again.folder / "out" / "eplusout.sql").read_text() == "sql"
    assert not Path(str((again.folder / "out").readlink())).is_absolute()  # the tree can move
    # Not a cache hit, or a hit on this batch's own result: no reuse.
    assert reused_result(again, options, source).cached_from is None
    own = VariantResult("new", "m__s__w", "m.idf", "w.epw", "s", "succeeded", 2.0)
    assert reused_result(again, options, own, cached=True).cached_from is None


def test_design_loads_are_the_zones_summed_in_kw(tmp_path: Path):
    path = tmp_path / "eplusout.sql"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE ZoneSizes (ZoneName TEXT, LoadType TEXT, UserDesLoad REAL)")
        db.executemany(
            "INSERT INTO ZoneSizes VALUES (?, ?, ?)",
            [("A", "Heating", 3787.16), ("B", "Heating", 1593.17), ("A", "Cooling", 2643.4)],
        )
        db.commit()
        assert design_loads_kw(db) == {"Heating": 5.38, "Cooling": 2.643}
    with closing(sqlite3.connect(tmp_path / "none.sql")) as db:
        assert design_loads_kw(db) == {}  # no sizing table at all
