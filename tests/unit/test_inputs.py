"""Model and weather files are checked before anything runs."""

from pathlib import Path

import pytest

from epbatch.study.inputs import check_inputs
from epbatch.study.spec import StudyError, check_study
from tests.conftest import CHICAGO, study_data


def check(engine, tmp_path: Path, **overrides):
    data = study_data(**({"construction_sets": {"baseline": {}}} | overrides))
    checked = check_study(data, tmp_path / "study.yaml")
    inputs = check_inputs(checked, engine, tmp_path / "cache")
    return [m.source for m in inputs.models], inputs.weather


def test_paths_are_relative_to_the_study_file_and_bare_weather_is_bundled(engine, models, tmp_path):
    (tmp_path / "m.idf").write_text((models / "1ZoneUncontrolled.idf").read_text())
    found, weather = check(engine, tmp_path, models=["m.idf", "*.idf"])
    assert found == [(tmp_path / "m.idf").resolve()]  # the glob's match is not repeated
    assert weather == [engine.weather_dir / CHICAGO]


def test_missing_files_are_all_named(engine, tmp_path):
    with pytest.raises(StudyError) as caught:
        check(engine, tmp_path, models=["nope.idf", "none-*.idf"], weather=["nowhere.epw"])
    assert [p.split(":")[0] for p in caught.value.problems] == ["models.0", "models.1", "weather.0"]
    assert "model file not found" in caught.value.problems[0]
    assert "no file matches" in caught.value.problems[1]
    assert str(tmp_path / "study.yaml") in str(caught.value)


def test_files_of_the_wrong_kind(engine, tmp_path):
    (tmp_path / "model.txt").write_text("Version,25.2;")
    (tmp_path / "binary.idf").write_bytes(b"\0\1\2version")
    (tmp_path / "prose.idf").write_text("just some words")
    (tmp_path / "w.epw").write_text("not,a,weather,file\n")
    with pytest.raises(StudyError) as caught:
        check(engine, tmp_path, models=["model.txt", "binary.idf", "prose.idf"], weather=["w.epw"])
    found = caught.value.problems
    assert "not a model file (expected the .idf or .epJSON extension)" in found[0]
    assert "binary content" in found[1]
    assert "no Version object" in found[2]
    assert "not an EPW file" in found[3]
