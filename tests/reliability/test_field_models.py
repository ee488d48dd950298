"""The models users bring (HVACTemplate, epJSON, ground heat transfer, parametric, old
versions), through ``epbatch run`` on the real engine and a real Prefect server."""

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from epbatch.study.inputs import check_inputs
from epbatch.study.spec import StudyError, read_study
from tests.conftest import CHICAGO, INSULATED_WALL, MODELS, TRIPLE_GLAZING
from tests.reliability.test_bad_input import rejected

pytestmark = [pytest.mark.reliability, pytest.mark.engine]

# The models of ../shared/models that epbatch refuses, and the reason the README gives.
REFUSED = {
    "SingleFamilyHouse_HP_Slab.idf": "they need ExpandObjects and the Slab program",
    "ParametricInsulation-5ZoneAirCooled.idf": "they need the ParametricPreprocessor",
    "5ZoneAirCooled-v23.1.idf": "written for EnergyPlus 23.1, older than the engine",
}
TWO_SETS = {"baseline": {}, "insulated-walls": {"exterior_wall": INSULATED_WALL}}


def study(tmp_path: Path, name: str, models: list[Path], **keys: Any) -> Path:
    data = {
        "name": name,
        "models": [str(m) for m in models],
        "weather": [CHICAGO],
        "run_period": "design-days",
        "slots": 2,
        "construction_sets": TWO_SETS,
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data | keys))
    return path


def results(tmp_path: Path) -> pd.DataFrame:
    """The one batch's results table (stored as Parquet beside the database rows)."""
    (table,) = (tmp_path / "out").glob("*/*/results.parquet")
    return pd.read_parquet(table)


def corpus() -> list[Path]:
    return sorted(p for p in MODELS.iterdir() if p.suffix.lower() in (".idf", ".epjson", ".imf"))


@pytest.mark.prefect
def test_every_shared_model_runs_or_is_refused_with_its_reason(
    epbatch, engine, prefect_api, tmp_path
):
    """Each model of ../shared/models alone through the checks; those accepted all run
    through one two-set study; a refused one stops a study before anything runs."""
    accepted = []
    for model in corpus():
        try:
            check_inputs(read_study(study(tmp_path, "one", [model])), engine, tmp_path / "cache")
        except StudyError as error:
            assert model.name in REFUSED, f"{model.name} is refused: {error}"
            assert len(error.problems) == 1 and REFUSED[model.name] in error.problems[0]
            continue
        assert model.name not in REFUSED, f"{model.name} is accepted: update REFUSED and README"
        accepted.append(model)
    assert len(accepted) >= 5  # 1Zone, 5Zone, its epJSON twin, HVACTemplate, warehouse
    status, err = epbatch("run", str(study(tmp_path, "corpus", accepted)))
    assert status == 0, err
    frame = results(tmp_path)
    assert len(frame) == 2 * len(accepted) and set(frame.status) == {"succeeded"}
    assert set(frame.model) == {m.name for m in accepted}

    refused = MODELS / "SingleFamilyHouse_HP_Slab.idf"
    study_file = study(tmp_path, "refused", [MODELS / "1ZoneUncontrolled.idf", refused])
    (tmp_path / "out").rename(tmp_path / "first-out")  # `rejected` checks nothing is made
    rejected(epbatch, study_file, "models.1", REFUSED[refused.name], tmp_path)


@pytest.mark.prefect
def test_hvactemplate_model_takes_wall_and_window_sets(epbatch, prefect_api, tmp_path):
    """Expanded once, then varied: better walls and windows need less heating in January."""
    sets = TWO_SETS | {"triple-glazing": {"window": TRIPLE_GLAZING}}
    path = study(
        tmp_path,
        "templates",
        [MODELS / "HVACTemplate-5ZonePTAC.idf"],
        run_period={"start": "01-01", "end": "01-14"},
        construction_sets=sets,
    )
    status, err = epbatch("run", str(path))
    assert status == 0, err
    assert "epbatch: note: model HVACTemplate-5ZonePTAC.idf: HVACTemplate objects (" in err
    frame = results(tmp_path).set_index("construction_set")
    assert set(frame.status) == {"succeeded"}
    heating = frame.heating_gj
    assert heating["baseline"] > 1.0
    assert heating["insulated-walls"] < 0.97 * heating["baseline"]
    assert heating["triple-glazing"] < 0.97 * heating["baseline"]


@pytest.mark.prefect
def test_epjson_model_gives_its_idf_twin_results(epbatch, prefect_api, tmp_path):
    """An annual run of 5ZoneAirCooled from its epJSON and from its IDF: the same to 0.1 %."""
    twins = [MODELS / "5ZoneAirCooled.idf", MODELS / "5ZoneAirCooled.epJSON"]
    path = study(tmp_path, "twins", twins, run_period="annual", construction_sets={"base": {}})
    status, err = epbatch("run", str(path))
    assert status == 0, err
    frame = results(tmp_path).set_index("model")
    idf, epjson = frame.loc["5ZoneAirCooled.idf"], frame.loc["5ZoneAirCooled.epJSON"]
    for column in ("site_energy_gj", "heating_gj", "cooling_gj", "electricity_gj"):
        assert idf[column] > 1.0
        assert abs(epjson[column] - idf[column]) <= 0.001 * idf[column], column
    assert epjson.severe_errors == idf.severe_errors == 0


def test_every_problem_of_a_study_at_once(epbatch, tmp_path):
    """A schema error no longer hides missing and refused files."""
    path = study(
        tmp_path,
        "many-problems",
        [
            MODELS / "1ZoneUncontrolled.idf",
            tmp_path / "gone.idf",
            MODELS / "5ZoneAirCooled-v23.1.idf",
        ],
        weather=["nowhere.epw"],
    )
    path.write_text(path.read_text().replace("construction_sets:", "construction_setz:"))
    err = rejected(epbatch, path, "construction_sets", "Field required", tmp_path)
    for key, problem in [
        ("construction_setz", "unknown key"),
        ("models.1", f"model file not found: {tmp_path / 'gone.idf'}"),
        ("models.2", "written for EnergyPlus 23.1"),
        ("weather.0", "weather file not found"),
    ]:
        assert any(
            line.startswith(f"{path}: {key}: ") and problem in line for line in err.splitlines()
        ), (
            key,
            err,
        )
