"""Variant generation with eppy on the NREL example models (no engine run)."""

import io
import itertools
from dataclasses import astuple
from pathlib import Path

import pytest
from eppy.modeleditor import IDF

from epbatch.settings import Settings
from epbatch.study.inputs import check_inputs
from epbatch.study.spec import DateRange, StudyError, check_study, parse_study, read_study
from epbatch.variants.envelope import construction_set_applied, surfaces_of_class
from epbatch.variants.generate import generate_variants, variant_ids
from epbatch.variants.idfmodel import (
    idf_text,
    load_model,
    request_sql_output,
    set_run_period,
    skip_unkept_outputs,
)
from epbatch.variants.plan import plan_batch
from tests.conftest import CHICAGO, GOLDEN, study_data


@pytest.fixture(scope="module")
def five_zone(engine, models):
    return load_model(models / "5ZoneAirCooled.idf", engine.idd)


def reparse(text: str):
    return IDF(io.StringIO(text))


def tiny_model(engine, tmp_path: Path, body: str):
    """A 25.2 model of ``body`` alone, parsed."""
    model = tmp_path / "m.idf"
    model.write_text(f"Version,25.2;\n{body}\n")
    return load_model(model, engine.idd)


def test_surface_classes_cover_detailed_geometry(five_zone):
    counts = {
        c: len(surfaces_of_class(five_zone, c))
        for c in ("exterior_wall", "roof", "ground_floor", "window")
    }
    assert counts == {"exterior_wall": 8, "roof": 1, "ground_floor": 5, "window": 6}


def test_surface_classes_cover_simple_geometry(engine, tmp_path: Path):
    model = tmp_path / "simple.idf"
    model.write_text(
        "Version,25.2;\n"
        "Wall:Exterior, W1, C, Z, , 0, 90, 0, 0, 0, 10, 3;\n"
        "Roof, R1, C, Z, , 0, 0, 0, 0, 0, 10, 8;\n"
        "Floor:GroundContact, F1, C, Z, , 0, 180, 0, 0, 0, 10, 8;\n"
        "Window, Win1, G, W1, , 1, 1, 1, 2, 1;\n"
    )
    idf = load_model(model, engine.idd)
    assert [s.Name for s in surfaces_of_class(idf, "exterior_wall")] == ["W1"]
    assert [s.Name for s in surfaces_of_class(idf, "roof")] == ["R1"]
    assert [s.Name for s in surfaces_of_class(idf, "ground_floor")] == ["F1"]
    assert [s.Name for s in surfaces_of_class(idf, "window")] == ["Win1"]


def test_construction_set_is_applied_then_restored(five_zone):
    study = parse_study(study_data())
    before = idf_text(five_zone)
    with construction_set_applied(five_zone, study.construction_sets["insulated-walls"]):
        during = reparse(idf_text(five_zone))
    assert idf_text(five_zone) == before
    walls = surfaces_of_class(during, "exterior_wall")
    assert {w.Construction_Name for w in walls} == {"EPB exterior_wall"}
    [construction] = [c for c in during.idfobjects["CONSTRUCTION"] if c.Name == "EPB exterior_wall"]
    assert [construction.Outside_Layer, construction.Layer_2] == [
        "EPB exterior_wall L1 Brick",
        "EPB exterior_wall L2 Mineral wool",
    ]
    wool = next(m for m in during.idfobjects["MATERIAL"] if m.Name.endswith("Mineral wool"))
    assert (float(wool.Thickness), float(wool.Conductivity)) == (0.2, 0.035)
    interior = next(s for s in during.idfobjects["BUILDINGSURFACE:DETAILED"] if s.Name == "SB12")
    assert interior.Construction_Name == "INT-WALL-1"  # interior walls untouched


def test_window_set_uses_simple_glazing(five_zone):
    study = parse_study(study_data())
    with construction_set_applied(five_zone, study.construction_sets["triple-glazing"]):
        during = reparse(idf_text(five_zone))
    [glazing] = during.idfobjects["WINDOWMATERIAL:SIMPLEGLAZINGSYSTEM"][-1:]
    assert (float(glazing.UFactor), float(glazing.Solar_Heat_Gain_Coefficient)) == (0.8, 0.5)
    assert {w.Construction_Name for w in surfaces_of_class(during, "window")} == {"EPB window"}


def test_outputs_and_run_period_are_prepared(engine, models):
    idf = load_model(models / "1ZoneUncontrolled.idf", engine.idd)
    request_sql_output(idf)
    set_run_period(idf, DateRange(start="01-01", end="01-14"))
    out = reparse(idf_text(idf))
    [sql] = out.idfobjects["OUTPUT:SQLITE"]
    assert sql.Option_Type == "SimpleAndTabular"
    [period] = out.idfobjects["RUNPERIOD"]
    assert [int(period.Begin_Month), int(period.End_Month), int(period.End_Day_of_Month)] == [
        1,
        1,
        14,
    ]


def test_summary_report_added_when_missing(engine, tmp_path: Path):
    idf = tiny_model(engine, tmp_path, "Output:Table:SummaryReports, ZoneComponentLoadSummary;")
    request_sql_output(idf)
    [reports] = idf.idfobjects["OUTPUT:TABLE:SUMMARYREPORTS"]
    assert [v for v in reports.obj[1:] if v] == [
        "ZoneComponentLoadSummary",
        "AnnualBuildingUtilityPerformanceSummary",
    ]


def test_files_retention_would_delete_are_not_written(engine, models):
    idf = load_model(models / "1ZoneUncontrolled.idf", engine.idd)
    skip_unkept_outputs(idf)
    [control] = reparse(idf_text(idf)).idfobjects["OUTPUTCONTROL:FILES"]
    assert [control.Output_ESO, control.Output_MTR, control.Output_Tabular] == ["No"] * 3
    assert [control.Output_SQLite, control.Output_EIO, control.Output_END] == ["Yes"] * 3


def test_a_models_own_output_control_is_kept(engine, tmp_path: Path):
    idf = tiny_model(engine, tmp_path, "OutputControl:Files, Yes, Yes, Yes;")
    skip_unkept_outputs(idf)
    [control] = idf.idfobjects["OUTPUTCONTROL:FILES"]
    assert [control.Output_CSV, control.Output_MTR, control.Output_ESO] == ["Yes"] * 3


def test_variant_ids_are_stable_readable_and_unique():
    ids = list(
        variant_ids(
            [Path("a/Office.idf"), Path("b/Office.idf")], ["Base", "walls 2"], [Path("X_TMY3.epw")]
        )
    )
    assert ids == [
        "office__base__x-tmy3",
        "office__walls-2__x-tmy3",
        "office__base__x-tmy3-2",
        "office__walls-2__x-tmy3-2",
    ]


def test_generate_variants_writes_one_folder_each(engine, models, write_study, tmp_path):
    study_file = write_study(weather=[CHICAGO, GOLDEN])
    inputs = check_inputs(read_study(study_file), engine, tmp_path / "cache")
    study, model_files, weather = inputs.study, inputs.models, inputs.weather
    assert weather == [engine.weather_dir / CHICAGO, engine.weather_dir / GOLDEN]
    variants = generate_variants(study, model_files, weather, engine, tmp_path / "v")
    assert len(variants) == 6
    assert len({v.folder for v in variants}) == 6
    assert all(v.idf.is_file() and v.folder.parent == tmp_path / "v" for v in variants)
    texts = {v.construction_set: v.idf.read_text(encoding="latin-1") for v in variants}
    assert "EPB exterior_wall" in texts["insulated-walls"]
    assert "EPB" not in texts["baseline"]
    assert all("OUTPUTCONTROL:FILES" in text.upper() for text in texts.values())
    every_file = generate_variants(
        study, model_files, weather, engine, tmp_path / "all", keep_outputs="all"
    )
    assert not any("OUTPUTCONTROL:FILES" in v.idf.read_text("latin-1").upper() for v in every_file)


def test_surface_class_missing_in_model_is_an_input_error(engine, models, write_study, tmp_path):
    data = study_data(
        models=[str(models / "1ZoneUncontrolled.idf")],
        construction_sets={"w": {"window": {"u_factor": 1, "shgc": 0.4}}},
    )
    with pytest.raises(
        StudyError,
        match=r"construction_sets\.w\.window: model .*1ZoneUncontrolled"
        r"\.idf has no window surfaces",
    ):
        check_inputs(check_study(data, write_study(data)), engine, tmp_path / "cache")


def test_a_stream_names_every_variant_and_writes_only_those_reached(write_study, tmp_path):
    plan = plan_batch(write_study(weather=[CHICAGO, GOLDEN]), Settings(output_dir=tmp_path / "r"))
    stream = plan.variants
    assert len(stream) == len(stream.names) == 6
    reached = list(itertools.islice(stream, 2))
    assert [
        (v.variant_id, v.model, v.weather, v.construction_set, v.sample_id) for v in reached
    ] == [astuple(name) for name in stream.names[:2]]
    assert stream.unwritten() == stream.names[2:]
    written = sorted(p.name for p in (plan.folder / "variants").iterdir())
    assert written == sorted(v.variant_id for v in reached)  # nothing for the others
    assert [v.variant_id for v in stream] == [name.variant_id for name in stream.names]
    assert stream.unwritten() == []
