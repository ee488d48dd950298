"""Study files are validated with messages that name the file, the key and the problem."""

from pathlib import Path

import pytest

from epbatch.study.spec import StudyError, load_study, parse_study
from tests.conftest import study_data


def problems(data: object) -> list[str]:
    with pytest.raises(StudyError) as caught:
        parse_study(data, "s.yaml")
    return caught.value.problems


def test_valid_study_parses_with_defaults():
    study = parse_study(study_data(slots=None) | {"slots": 3})
    assert study.slots == 3
    assert list(study.construction_sets) == ["baseline", "insulated-walls", "triple-glazing"]
    assert study.construction_sets["baseline"].classes() == []
    assert study.construction_sets["triple-glazing"].classes() == ["window"]


def test_slots_default_to_cpu_count():
    data = study_data()
    del data["slots"]
    assert parse_study(data).slots >= 1


def test_unknown_key_is_named():
    assert problems(study_data(weathr=["x.epw"])) == ["weathr: unknown key"]


def test_unknown_surface_class_is_named():
    data = study_data(construction_sets={"a": {"exterior_walls": {"layers": []}}})
    assert problems(data) == ["construction_sets.a.exterior_walls: unknown key"]


@pytest.mark.parametrize("field", ["thickness", "conductivity", "density"])
@pytest.mark.parametrize("value", [0, -0.1])
def test_non_positive_layer_property(field, value):
    layer = {
        "material": "m",
        "thickness": 0.1,
        "conductivity": 1,
        "density": 1000,
        "specific_heat": 900,
    } | {field: value}
    data = study_data(construction_sets={"a": {"roof": {"layers": [layer]}}})
    [message] = problems(data)
    assert message.startswith(f"construction_sets.a.roof.layers.0.{field}: ")
    assert "greater than 0" in message


def test_layer_needs_all_properties_or_a_resistance():
    data = study_data(construction_sets={"a": {"roof": {"layers": [{"material": "m"}]}}})
    [message] = problems(data)
    assert message.startswith("construction_sets.a.roof.layers.0: ")
    assert "thermal_resistance" in message


@pytest.mark.parametrize(
    ("glazing", "field"),
    [
        ({"u_factor": 0, "shgc": 0.5}, "u_factor"),
        ({"u_factor": 9, "shgc": 0.5}, "u_factor"),
        ({"u_factor": 1, "shgc": 1.2}, "shgc"),
        ({"u_factor": 1, "shgc": 0}, "shgc"),
    ],
)
def test_glazing_out_of_physical_range(glazing, field):
    [message] = problems(study_data(construction_sets={"a": {"window": glazing}}))
    assert message.startswith(f"construction_sets.a.window.{field}: ")


@pytest.mark.parametrize("slots", [0, -1, 10_000])
def test_slots_out_of_range(slots):
    [message] = problems(study_data(slots=slots))
    assert message.startswith("slots: ")


@pytest.mark.parametrize("key", ["models", "weather", "construction_sets"])
def test_empty_lists_rejected(key):
    [message] = problems(study_data(**{key: {} if key == "construction_sets" else []}))
    assert message.startswith(f"{key}: ")


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "a;rm -rf /", "$(reboot)", ".hidden"])
def test_names_that_could_escape_or_inject_are_rejected(name):
    assert problems(study_data(name=name))[0].startswith("name: ")
    data = study_data(construction_sets={name: {}})
    assert problems(data)[0].startswith(f"construction_sets: name {name!r} must")


def test_run_period_forms():
    assert parse_study(study_data(run_period="design-days")).run_period == "design-days"
    [message] = problems(study_data(run_period={"start": "02-01", "end": "01-01"}))
    assert message == "run_period: end is before start"
    [message] = problems(study_data(run_period="monthly"))
    assert message.startswith("run_period")


def test_several_problems_reported_together():
    found = problems(study_data(slots=0, name="../x", extra=1))
    assert [p.split(":")[0] for p in found] == ["extra", "name", "slots"]


def test_file_errors_name_the_file(tmp_path: Path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(StudyError, match=r"nope\.yaml: cannot read"):
        load_study(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(StudyError, match=r"bad\.yaml: not valid YAML"):
        load_study(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(StudyError, match="must be a mapping"):
        load_study(listed)


def test_duplicate_construction_set_names_rejected(tmp_path: Path):
    path = tmp_path / "dup.yaml"
    path.write_text(
        "name: s\nmodels: [a.idf]\nweather: [w.epw]\nconstruction_sets:\n  base: {}\n  base: {}\n"
    )
    with pytest.raises(StudyError, match="duplicate key 'base'"):
        load_study(path)


def test_failure_budget_defaults_to_half_and_is_a_share():
    assert parse_study(study_data()).failure_budget == 0.5
    assert parse_study(study_data(failure_budget=1)).failure_budget == 1.0
    for share in (0, -0.1, 1.5, "most"):
        [message] = problems(study_data(failure_budget=share))
        assert message.startswith("failure_budget: "), message
