"""Parameters and sampling: every validation message, the samples, applying and undoing them on
a real parsed model (5ZoneAirCooled, the engine's IDD), and the ids they give. No engine runs."""

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine

from epbatch.report.terminal import results_table
from epbatch.results.records import Status, VariantResult, table_rows
from epbatch.results.sensitivity import analyse
from epbatch.store.aggregate import aggregate_saved_batch
from epbatch.store.database import (
    database,
    load_results,
    load_samples,
    results_frame,
    store_batch,
    write_tables,
)
from epbatch.study.inputs import check_inputs
from epbatch.study.spec import MAX_VARIANTS, Study, StudyError, check_study, sample_count
from epbatch.variants.generate import parameter_plan, variant_ids
from epbatch.variants.idfmodel import idf_text, load_model
from epbatch.variants.parameters import parameters_applied
from epbatch.variants.plan import BatchInfo
from epbatch.variants.sampling import draw_samples, sample_id, write_samples
from tests.conftest import CHICAGO, study_data
from tests.storage_checks import assert_at_head_matching_models, batch_row

ACH: dict[str, Any] = {
    "set": {
        "object": "ZoneInfiltration:DesignFlowRate",
        "field": "Air Changes per Hour",
        "also": {"Design Flow Rate Calculation Method": "AirChanges/Hour"},
    },
    "values": [0.2, 0.5, 1.0],
}
NORTH: dict[str, Any] = {"set": {"object": "Building", "field": "North Axis"}, "values": [0, 90]}
LIGHTS: dict[str, Any] = {
    "set": {"object": "Lights", "field": "Watts per Floor Area"},
    "range": [5.0, 12.0],
}
EQUIPMENT: dict[str, Any] = {
    "set": {"object": "ElectricEquipment", "field": "Design Level", "name": "SPACE1*"},
    "scale": [0.8, 1.2],
}


def data(parameters: dict[str, Any], sampling: dict[str, Any] | None = None, **more: Any):
    extra = {"sampling": sampling} if sampling is not None else {}
    return study_data(construction_sets={"baseline": {}}, parameters=parameters, **extra, **more)


def schema_problems(parameters: dict[str, Any], sampling: dict[str, Any] | None = None, **more):
    return check_study(data(parameters, sampling, **more), Path("s.yaml")).problems


def study(parameters: dict[str, Any], sampling: dict[str, Any] | None = None) -> Study:
    return check_study(data(parameters, sampling), Path("s.yaml")).valid()


def input_problems(engine, tmp_path: Path, parameters, sampling=None, **more) -> list[str]:
    checked = check_study(data(parameters, sampling, **more), tmp_path / "study.yaml")
    try:
        check_inputs(checked, engine, tmp_path / "cache")
    except StudyError as error:
        return error.problems
    return []


# --- the schema's messages (no IDD, no model) -------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "sampling", "expected"),
    [
        (
            {"a": {**NORTH, "range": [0, 1]}},
            None,
            "parameters.a: give exactly one of values, range or scale (not values and range)",
        ),
        (
            {"a": {"set": NORTH["set"]}},
            None,
            "parameters.a: give exactly one of values, range or scale",
        ),
        (
            {"a": {"set": NORTH["set"], "range": [3, 1]}},
            {"method": "lhs", "samples": 4},
            "parameters.a.range: low (3) must be below high (1)",
        ),
        (
            {"a": {"set": NORTH["set"], "range": [2, 2]}},
            {"method": "lhs", "samples": 4},
            "parameters.a.range: low (2) must be below high (2)",
        ),
        (
            {"a": {"set": NORTH["set"], "scale": {"range": [1.2, 0.8]}}},
            {"method": "lhs", "samples": 4},
            "parameters.a.scale.range: low (1.2) must be below high (0.8)",
        ),
        (
            {"a": {"set": NORTH["set"], "scale": "big"}},
            None,
            "parameters.a.scale: must be [low, high] factors or {range: [low, high]} or "
            "{values: [...]}",
        ),
        (
            {"a": {**NORTH, "values": [[1]]}},
            None,
            "parameters.a.values.0: must be a number or a text (a choice key, a name)",
        ),
        (
            {"a": {**NORTH, "values": []}},
            None,
            "parameters.a.values: List should have at least 1 item after validation, not 0",
        ),
        (
            {"a": {"set": {"object": "Building"}, "values": [1]}},
            None,
            "parameters.a.set.field: Field required",
        ),
        (
            {"a": {"set": {**NORTH["set"], "colour": 1}, "values": [1]}},
            None,
            "parameters.a.set.colour: unknown key",
        ),
        (
            {"9lives": NORTH},
            None,
            "parameters: name '9lives' must be a column name: a letter or _, then letters, "
            "digits or _ (64 at most)",
        ),
        (
            {"status": NORTH},
            None,
            "parameters.status: 'status' is a column of the results table already",
        ),
        (
            {"sample_id": NORTH},
            None,
            "parameters.sample_id: 'sample_id' is a column of the results table already",
        ),
        (
            {"a": NORTH, "b": {**NORTH, "values": [180]}},
            None,
            "parameters.b.set: the same field as parameters.a",
        ),
        (
            {"a": {**NORTH, "set": {**NORTH["set"], "also": {"north_axis": 3}}}},
            None,
            "parameters.a.set.also: sets the parameter's own field",
        ),
        (
            {"lights": LIGHTS},
            None,
            "parameters.lights.range: grid sampling needs values (a range is for lhs, sobol, "
            "random or morris)",
        ),
        (
            {"equipment": EQUIPMENT},
            {"method": "grid"},
            "parameters.equipment.scale: grid sampling needs values (a range is for lhs, "
            "sobol, random or morris)",
        ),
        ({"a": LIGHTS}, {"method": "lhs"}, "sampling.samples: required for method lhs"),
        ({"a": LIGHTS}, {"method": "morris"}, "sampling.samples: required for method morris"),
        ({"a": LIGHTS}, {"method": "random"}, "sampling.samples: required for method random"),
        ({"a": LIGHTS}, {"method": "sobol"}, "sampling.samples: required for method sobol"),
        (
            {"a": LIGHTS},
            {"method": "sobol", "samples": 48},
            "sampling.samples: sobol needs a power of 2 (e.g. 64), the Sobol sequence is "
            "balanced only then",
        ),
        (
            {"a": LIGHTS},
            {"method": "latin", "samples": 4},
            "sampling.method: Input should be 'grid', 'lhs', 'sobol', 'random' or 'morris'",
        ),
        (
            {"a": LIGHTS},
            {"method": "lhs", "samples": 0},
            "sampling.samples: Input should be greater than or equal to 1",
        ),
        ({}, {"method": "lhs", "samples": 4}, "sampling: there are no parameters to sample"),
        (
            {"a": {"set": NORTH["set"], "range": [float("nan"), 1]}},
            {"method": "lhs", "samples": 4},
            "parameters.a.range.0: Input should be a finite number",
        ),
        (
            {"a": {"set": NORTH["set"], "scale": {"values": [float("inf")]}}},
            None,
            "parameters.a.scale.values.0: Input should be a finite number",
        ),
    ],
)
def test_schema_messages(parameters, sampling, expected):
    assert expected in schema_problems(parameters, sampling)


def test_more_than_100000_variants_says_how_many():
    levels = {"values": list(range(50))}
    parameters = {
        "a": {**NORTH, **levels},
        "b": {"set": {"object": "Lights", "field": "Fraction Radiant"}, **levels},
        "c": {"set": {"object": "Lights", "field": "Fraction Visible"}, **levels},
    }
    problems = schema_problems(parameters, weather=[CHICAGO, "other.epw"])
    assert problems == [
        "parameters: the study would have 250,000 variants (1 model x 2 weather files x "
        f"1 construction set x 125,000 samples), more than {MAX_VARIANTS:,}"
    ]


def test_grid_count_is_the_product_without_enumerating_it():
    huge = {f"p{i}": {**NORTH, "set": {**NORTH["set"], "name": f"n{i}"}} for i in range(70)}
    problems = schema_problems({k: {**v, "values": [0, 90]} for k, v in huge.items()})
    assert problems and "1,180,591,620,717,411,303,424 samples" in problems[0]


def test_sample_counts_per_method():
    two = {"a": LIGHTS, "b": {**LIGHTS, "set": {"object": "Lights", "field": "Fraction Radiant"}}}
    assert sample_count(study({"a": ACH, "b": NORTH})) == 6
    assert sample_count(study(two, {"method": "lhs", "samples": 8})) == 8
    assert sample_count(study(two, {"method": "random", "samples": 5})) == 5
    assert sample_count(study(two, {"method": "morris", "samples": 3})) == 3 * 3
    assert sample_count(study(two, {"method": "sobol", "samples": 8})) == 8 * 4


def test_yes_and_no_in_yaml_are_the_choice_keys():
    parameter = study({"a": {**NORTH, "set": {**NORTH["set"], "also": {"x": True}}}})
    assert parameter.parameters["a"].set.also == {"x": "Yes"}


# --- the engine's IDD and each model --------------------------------------------------------


def test_idd_and_model_problems_all_at_once(engine, tmp_path):
    parameters = {
        "unknown_object": {"set": {"object": "Lightz", "field": "X"}, "values": [1]},
        "unknown_field": {
            "set": {"object": "Lights", "field": "Watts per Zone Floor Area"},
            "values": [1],
        },
        "below_min": {**LIGHTS, "range": [-1.0, 12.0]},
        "above_max": {
            "set": {"object": "Lights", "field": "Fraction Radiant"},
            "values": [0.5, 1.5],
        },
        "exclusive_min": {
            "set": {"object": "Coil:Cooling:DX:SingleSpeed", "field": "Gross Rated Cooling COP"},
            "values": [0],
        },
        "not_a_number": {**NORTH, "values": [0, "east"]},
        "not_a_key": {
            "set": {"object": "Building", "field": "Terrain"},
            "values": ["City", "Moon"],
        },
        "bad_companion": {**ACH, "set": {**ACH["set"], "also": {"Schedule Nam": "X"}}},
        "bad_companion_key": {
            **ACH,
            "set": {
                **ACH["set"],
                "name": "SPACE2*",
                "also": {"Design Flow Rate Calculation Method": "ACH"},
            },
        },
        "no_match": {
            **EQUIPMENT,
            "set": {**EQUIPMENT["set"], "name": "ATTIC*"},
            "scale": {"values": [1.1]},
        },
        "absent_type": {
            "set": {
                "object": "Coil:Cooling:DX:SingleSpeed",
                "field": "Gross Rated Sensible Heat Ratio",
            },
            "values": [0.7],
        },
        "scale_text": {
            "set": {"object": "Building", "field": "Solar Distribution"},
            "scale": [0.5, 2],
        },
        "scale_blank": {
            "set": {"object": "ElectricEquipment", "field": "Watts per Floor Area"},
            "scale": {"values": [2.0]},
        },
        "scale_out": {
            "set": {"object": "Lights", "field": "Return Air Fraction"},
            "scale": {"values": [1.0, 100.0]},
        },
        "range_on_text": {"set": {"object": "Lights", "field": "Schedule Name"}, "range": [1, 2]},
        "unnamed": {
            "set": {
                "object": "SimulationControl",
                "field": "Do Zone Sizing Calculation",
                "name": "X*",
            },
            "values": ["Yes"],
        },
    }
    problems = input_problems(engine, tmp_path, parameters, {"method": "lhs", "samples": 2})
    expected = [
        "parameters.unknown_object.set: unknown object type 'Lightz' in the engine's IDD "
        "(did you mean 'Lights'",
        "parameters.unknown_field.set: Lights has no field 'Watts per Zone Floor Area' "
        "(did you mean 'Watts per Floor Area'?)",
        "parameters.below_min.range.0: -1 is out of range: Lights field 'Watts per Floor Area' "
        "must be >= 0",
        "parameters.above_max.values.1: 1.5 is out of range: Lights field 'Fraction Radiant' "
        "must be <= 1",
        "parameters.exclusive_min.values.0: 0 is out of range: Coil:Cooling:DX:SingleSpeed "
        "field 'Gross Rated Cooling COP' must be > 0",
        "parameters.not_a_number.values.1: 'east' is not a number (Building field 'North Axis' "
        "is real)",
        "parameters.not_a_key.values.1: 'Moon' is not one of the keys of Building field "
        "'Terrain': Country, Suburbs, City, Ocean, Urban",
        "parameters.bad_companion.set.also: ZoneInfiltration:DesignFlowRate has no field "
        "'Schedule Nam' (did you mean 'Schedule Name'?)",
        "parameters.bad_companion_key.set.also.Design Flow Rate Calculation Method: 'ACH' is "
        "not one of the keys",
        "parameters.no_match.set: model 5ZoneAirCooled.idf has no ElectricEquipment object "
        "named 'ATTIC*'",
        "parameters.absent_type.set: model 5ZoneAirCooled.idf has no "
        "Coil:Cooling:DX:SingleSpeed object",
        "parameters.scale_text.scale: Building field 'Solar Distribution' is not a number",
        "parameters.scale_blank.scale: model 5ZoneAirCooled.idf: ElectricEquipment "
        "'SPACE1-1 ElecEq 1' has no number in 'Watts per Floor Area' to scale (blank)",
        "parameters.scale_out.scale: model 5ZoneAirCooled.idf: Lights 'SPACE1-1 Lights 1': ",
        "parameters.range_on_text.range: Lights field 'Schedule Name' is not a number",
        "parameters.unnamed.set.name: SimulationControl objects have no name to match",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    assert all(p.startswith("parameters.") for p in problems), problems
    assert len(problems) == len(expected), problems


def test_the_variant_count_uses_the_files_the_globs_matched(engine, models, tmp_path):
    for name in ("a.idf", "b.idf"):
        (tmp_path / name).write_text((models / "1ZoneUncontrolled.idf").read_text())
    levels = {"values": [float(i) for i in range(250)]}
    parameters = {
        "a": {**NORTH, **levels},
        "b": {
            "set": {"object": "Building", "field": "Loads Convergence Tolerance Value"},
            "values": [0.01 + i / 1000 for i in range(250)],
        },
    }
    problems = input_problems(engine, tmp_path, parameters, models=["*.idf"])
    assert problems == [
        "parameters: the study would have 125,000 variants (2 models x 1 weather file x "
        "1 construction set x 62,500 samples), more than 100,000"
    ]


def test_a_valid_parameter_study_passes(engine, tmp_path):
    parameters = {"infiltration_ach": ACH, "north_axis": NORTH}
    assert input_problems(engine, tmp_path, parameters) == []


# --- samples ----------------------------------------------------------------------------------


def test_grid_is_the_full_factorial_in_study_order():
    samples = draw_samples(study({"ach": ACH, "north": NORTH}))
    assert samples is not None
    assert samples.ids == ("p0001", "p0002", "p0003", "p0004", "p0005", "p0006")
    assert [(v["ach"], v["north"]) for v in samples.values] == [
        (0.2, 0), (0.2, 90), (0.5, 0), (0.5, 90), (1.0, 0), (1.0, 90)
    ]  # fmt: skip


@pytest.mark.parametrize("method", ["lhs", "random", "sobol", "morris"])
def test_the_same_seed_gives_the_same_samples_and_another_seed_others(method):
    parameters = {"lights": LIGHTS, "ach": {**ACH, "values": None, "range": [0.1, 2.0]}}

    def draw(seed):
        return draw_samples(study(parameters, {"method": method, "samples": 8, "seed": seed}))

    first, again, other = draw(7), draw(7), draw(8)
    assert first is not None and again is not None and other is not None
    assert first.values == again.values and first.ids == again.ids
    assert first.values != other.values
    for values in first.values:
        assert 5.0 <= float(values["lights"]) <= 12.0 and 0.1 <= float(values["ach"]) <= 2.0


def test_lhs_puts_one_sample_in_each_stratum():
    samples = draw_samples(study({"lights": LIGHTS}, {"method": "lhs", "samples": 7, "seed": 1}))
    assert samples is not None
    strata = sorted(int((float(v["lights"]) - 5.0) / 7.0 * 7) for v in samples.values)
    assert strata == list(range(7))


def test_levels_are_sampled_as_levels_and_integer_fields_rounded():
    parameters = {"north": {**NORTH, "values": [0, 90, 180, 270]}, "lights": LIGHTS}
    samples = draw_samples(study(parameters, {"method": "random", "samples": 50}), ["lights"])
    assert samples is not None
    assert {v["north"] for v in samples.values} == {0, 90, 180, 270}
    assert all(float(v["lights"]).is_integer() for v in samples.values)


def test_sample_ids_are_stable_and_readable():
    assert [sample_id(i) for i in (0, 6, 9998, 9999)] == ["p0001", "p0007", "p9999", "p10000"]


def test_variant_ids_get_the_sample_only_in_a_study_with_parameters():
    models, weather = [Path("5ZoneAirCooled.idf")], [Path("Chicago.epw"), Path("Golden.epw")]
    assert list(variant_ids(models, ["base"], weather)) == [
        "5zoneaircooled__base__chicago",
        "5zoneaircooled__base__golden",
    ]
    assert list(variant_ids(models, ["base"], weather, ["p0001", "p0002"])) == [
        "5zoneaircooled__base__chicago__p0001",
        "5zoneaircooled__base__golden__p0001",
        "5zoneaircooled__base__chicago__p0002",
        "5zoneaircooled__base__golden__p0002",
    ]


def test_samples_tables_are_written(tmp_path):
    samples = draw_samples(
        study(
            {
                "ach": ACH,
                "terrain": {
                    "set": {"object": "Building", "field": "Terrain"},
                    "values": ["City", "Ocean"],
                },
            }
        )
    )
    assert samples is not None
    write_samples(samples, tmp_path)
    frame = pd.read_parquet(tmp_path / "samples.parquet")
    assert list(frame.columns) == ["sample_id", "ach", "terrain"]
    assert frame.sample_id.tolist() == list(samples.ids)
    assert frame.terrain.tolist() == ["City", "Ocean"] * 3
    assert pd.read_csv(tmp_path / "samples.csv").equals(frame)


# --- applied to a parsed model, and undone ----------------------------------------------------


@pytest.fixture(scope="module")
def five_zone(engine):
    return load_model(
        Path(__file__).resolve().parents[3] / "shared" / "models" / "5ZoneAirCooled.idf",
        engine.idd,
    )


def test_a_sample_sets_every_matching_object_then_the_model_is_restored(five_zone, engine):
    s = study({"ach": ACH, "north": NORTH, "equipment": {**EQUIPMENT, "scale": {"values": [1.5]}}})
    targets, samples = parameter_plan(s)
    assert samples is not None
    before = idf_text(five_zone)
    infiltration = five_zone.idfobjects["ZONEINFILTRATION:DESIGNFLOWRATE"]
    equipment = {o.Name: o.Design_Level for o in five_zone.idfobjects["ELECTRICEQUIPMENT"]}
    with parameters_applied(five_zone, targets, {"ach": 0.5, "north": 90, "equipment": 1.5}):
        assert {o.Air_Changes_per_Hour for o in infiltration} == {0.5}
        assert {o.Design_Flow_Rate_Calculation_Method for o in infiltration} == {"AirChanges/Hour"}
        assert five_zone.idfobjects["BUILDING"][0].North_Axis == 90
        for obj in five_zone.idfobjects["ELECTRICEQUIPMENT"]:
            scaled = obj.Name.upper().startswith("SPACE1")
            assert obj.Design_Level == (
                pytest.approx(equipment[obj.Name] * 1.5) if scaled else equipment[obj.Name]
            )
        assert idf_text(five_zone) != before
    assert idf_text(five_zone) == before


def test_the_model_is_restored_when_writing_fails(five_zone):
    targets, _ = parameter_plan(study({"north": NORTH}))
    before = idf_text(five_zone)
    with pytest.raises(RuntimeError), parameters_applied(five_zone, targets, {"north": 180}):
        raise RuntimeError("disk full")
    assert idf_text(five_zone) == before


# --- stored, and analysed -----------------------------------------------------------------------


def test_samples_are_stored_and_the_results_get_parameter_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    engine = database(url)
    samples = pd.DataFrame(
        {"sample_id": ["p0001", "p0002"], "ach": [0.2, 1.0], "terrain": ["City", "Ocean"]}
    )
    results = [
        VariantResult("b1", f"m__s__w__{sid}", "m.idf", "w.epw", "s", "succeeded", 1.0,
                      site_energy_gj=float(i))
        for i, sid in enumerate(["p0001", "p0002"])
    ]  # fmt: skip
    ids = {r.variant_id: r.variant_id[-5:] for r in results}
    store_batch(engine, batch_row("b1", results), results, samples, ids)
    loaded = load_results(engine, "b1")
    assert loaded[["sample_id", "ach", "terrain"]].values.tolist() == [
        ["p0001", 0.2, "City"],
        ["p0002", 1.0, "Ocean"],
    ]
    pd.testing.assert_frame_equal(loaded, results_frame(results, samples, ids), check_dtype=False)
    pd.testing.assert_frame_equal(load_samples(engine, "b1"), samples, check_dtype=False)
    assert list(loaded.columns[:7]) == [
        "batch_id", "variant_id", "model", "weather", "construction_set", "sample_id", "ach"
    ]  # fmt: skip
    store_batch(engine, batch_row("b1", results), results, samples, ids)  # again: replaced
    assert len(load_samples(engine, "b1")) == 2
    assert_at_head_matching_models(create_engine(url))
    engine.dispose()


def _morris_results(method: str, fail: int | None = None):
    parameters = {
        "a": LIGHTS,
        "b": {
            **LIGHTS,
            "set": {"object": "Lights", "field": "Fraction Radiant"},
            "range": [0.1, 0.9],
        },
    }
    samples = draw_samples(study(parameters, {"method": method, "samples": 8, "seed": 2}))
    assert samples is not None
    results = []
    for i, (sid, v) in enumerate(zip(samples.ids, samples.values, strict=True)):
        y = 10 * float(v["a"]) + float(v["b"])  # a matters most
        status: Status = "failed" if i == fail else "succeeded"
        results.append(
            VariantResult("b", f"m__s__w__{sid}", "m.idf", "w.epw", "s", status, 1.0,
                          site_energy_gj=y, heating_gj=y, cooling_gj=0.0)
        )  # fmt: skip
    return samples, results, {r.variant_id: r.variant_id[-5:] for r in results}


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_sensitivity_ranks_the_parameter_that_matters(method):
    samples, results, ids = _morris_results(method)
    found = analyse(samples, results, ids)
    site = [r for r in found.rows if r["output"] == "site_energy_gj"]
    assert [(r["parameter"], r["rank"]) for r in site] == [("a", 1), ("b", 2)]
    assert found.notes == ["sensitivity: cooling_gj is the same in every sample (0): no indices"]
    key = "mu_star" if method == "morris" else "ST"
    assert site[0][key] > site[1][key] > 0


@pytest.mark.parametrize("method", ["morris", "sobol"])
def test_a_failed_variant_leaves_its_block_out_and_says_so(method):
    samples, results, ids = _morris_results(method, fail=0)
    found = analyse(samples, results, ids)
    unit = "trajectories" if method == "morris" else "Sobol base samples"
    assert (
        f"sensitivity: site_energy_gj: 1 of 8 {unit} left out (a variant failed or was skipped)"
        in found.notes
    )
    assert {r["parameter"] for r in found.rows} == {"a", "b"}


def test_too_few_whole_blocks_says_why():
    samples, results, ids = _morris_results("morris")
    size = 3
    broken = [
        r if i % size else VariantResult(**{**r.__dict__, "status": "failed"})
        for i, r in enumerate(results)
    ]
    found = analyse(samples, broken, ids)
    assert found.rows == []
    assert found.notes[0] == (
        "sensitivity: site_energy_gj: only 0 of 8 trajectories have every variant succeeded; "
        "morris needs 2 at least (SALib analyses whole designs only)"
    )


def test_epbatch_aggregate_stores_a_saved_parametric_batch_with_its_samples(tmp_path):
    """A batch whose database failed: its samples.parquet and the sample_id column of
    results.parquet give the database the same samples and parameter columns."""
    folder = tmp_path / "runs" / "s" / "s-20200102T000000-abcdef"
    folder.mkdir(parents=True)
    BatchInfo(
        folder.name,
        "s",
        "s.yaml",
        str(folder),
        "25.2.0",
        "2020-01-02T00:00:00+00:00",
        parameters=["ach"],
        sampling="grid",
    ).write()
    samples = draw_samples(study({"ach": ACH}))
    assert samples is not None
    write_samples(samples, folder)
    table = pd.read_parquet(folder / "samples.parquet")
    results = [
        VariantResult(folder.name, f"m__s__w__{sid}", "m.idf", "w.epw", "s", "succeeded", 1.0)
        for sid in samples.ids
    ]
    ids = {r.variant_id: r.variant_id[-5:] for r in results}
    write_tables(results_frame(results, table, ids), folder)
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    aggregate_saved_batch(tmp_path / "runs", folder.name, url)
    loaded = load_results(database(url), folder.name)
    assert loaded[["sample_id", "ach"]].values.tolist() == [
        ["p0001", 0.2], ["p0002", 0.5], ["p0003", 1.0]
    ]  # fmt: skip
    pd.testing.assert_frame_equal(loaded, pd.read_parquet(folder / "results.parquet"))


def test_the_terminal_and_ui_tables_show_each_variants_values():
    results = [
        VariantResult("b", f"m__s__w__p000{i}", "m.idf", "w.epw", "s", "succeeded", 1.0,
                      heating_gj=float(i))
        for i in (1, 2)
    ]  # fmt: skip
    samples = pd.DataFrame({"sample_id": ["p0001", "p0002"], "ach": [0.2, 1.25], "t": ["A", "B"]})
    ids = {r.variant_id: r.variant_id[-5:] for r in results}
    lines = results_table(
        results_frame(results, samples, ids), parameters=["ach", "t"]
    ).splitlines()
    assert lines[0].split()[:5] == ["variant_id", "status", "runtime_s", "ach", "t"]
    assert lines[2].split()[3:5] == ["1.25", "B"]
    rows = table_rows(
        results, {r.variant_id: {"ach": v} for r, v in zip(results, [0.2, 1.25], strict=True)}
    )
    assert list(rows[1])[:3] == ["variant_id", "status", "ach"] and rows[1]["ach"] == 1.25
