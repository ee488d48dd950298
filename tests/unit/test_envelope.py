"""Construction sets on every kind of envelope, on small IDF texts written here."""

from pathlib import Path

import pytest

from epbatch.study.spec import ConstructionSet, parse_study
from epbatch.variants.envelope import (
    construction_set_applied,
    left_alone,
    set_notes,
    surfaces_of_class,
)
from epbatch.variants.generate import envelope_notes
from epbatch.variants.idfmodel import idf_text, load_model
from epbatch.variants.preprocess import ModelInput
from tests.conftest import INSULATED_WALL, TRIPLE_GLAZING

WALLS = ConstructionSet.model_validate({"exterior_wall": INSULATED_WALL})
FLOORS = ConstructionSet.model_validate({"ground_floor": INSULATED_WALL})
GLAZING = ConstructionSet.model_validate({"window": TRIPLE_GLAZING})
SQUARE = "0,0,0, 1,0,0, 1,1,0, 0,1,0"
FACADE = "Façade \u2013 试验"  # UTF-8 bytes the model file keeps as they are

MATERIALS = """
Material, Brick, Rough, 0.1, 0.9, 1900, 800;
Material, Board, Rough, 0.02, 0.1, 500, 1200;
Material, Stud, Rough, 0.1, 0.05, 30, 800;
Construction, Wall, Brick, Stud;
Construction, Partition, Board;
WindowMaterial:Glazing, Clear 3mm;
WindowMaterial:Gas, Air 13mm, Air, 0.013;
WindowMaterial:Shade, Roller;
Construction, Double, Clear 3mm, Air 13mm, Clear 3mm;
Construction, Double shaded, Clear 3mm, Air 13mm, Clear 3mm, Roller;
Construction:FfactorGroundFloor, Slab F, 0.12, 100, 40;
Construction:CfactorUndergroundWall, Basement C, 0.4, 2;
Construction, Slab, Brick;
"""


def model(engine, tmp_path: Path, body: str, encoding: str = "utf-8"):
    path = tmp_path / "m.idf"
    path.write_bytes(f"Version,25.2;\n{MATERIALS}{body}\n".encode(encoding))
    return load_model(path, engine.idd)


def detailed(name: str, kind: str, construction: str, boundary: str, space: str = "") -> str:
    return (
        f"BuildingSurface:Detailed, {name}, {kind}, {construction}, Z, {space}, {boundary}, , "
        f"NoSun, NoWind, 0, 4, {SQUARE};\n"
    )


def window(name: str, host: str, construction: str = "Double") -> str:
    return f"FenestrationSurface:Detailed, {name}, Window, {construction}, {host}, , , , 1, 4, {SQUARE};\n"


def shading(name: str, kind: str, construction: str, *windows: str) -> str:
    return (
        f"WindowShadingControl, {name}, Z, 1, {kind}, {construction}, AlwaysOn, , , No, No, "
        f", , , , , Sequential, {', '.join(windows)};\n"
    )


def names(surfaces) -> list[str]:
    return [s.Name for s in surfaces]


def test_f_and_c_factor_surfaces_are_left_alone_in_both_geometries(engine, tmp_path):
    idf = model(
        engine,
        tmp_path,
        detailed("F1", "Floor", "Slab F", "GroundFCfactorMethod")
        + detailed("F2", "Floor", "Slab", "Ground")
        + detailed("W1", "Wall", "Basement C", "GroundFCfactorMethod")
        + detailed("W2", "Wall", "Wall", "Outdoors")
        + "Floor:GroundContact, F3, Slab F, Z, , 0, 180, 0, 0, 0, 10, 8;\n"
        + "Wall:Underground, W3, Basement C, Z, , 0, 90, 0, 0, 0, 10, 3;\n"
        + "Wall:Exterior, W4, Wall, Z, , 0, 90, 0, 0, 0, 10, 3;\n",
    )
    assert names(surfaces_of_class(idf, "ground_floor")) == ["F2"]
    assert names(surfaces_of_class(idf, "exterior_wall")) == ["W2", "W4"]
    assert left_alone(idf, "ground_floor") == ["2 floors with Construction:FfactorGroundFloor"]
    assert left_alone(idf, "exterior_wall") == ["2 walls with Construction:CfactorUndergroundWall"]
    with construction_set_applied(idf, FLOORS):
        floors = {s.Name: s.Construction_Name for s in idf.idfobjects["BUILDINGSURFACE:DETAILED"]}
        assert [floors["F1"], floors["F2"]] == ["Slab F", "EPB ground_floor"]
        assert idf.idfobjects["FLOOR:GROUNDCONTACT"][0].Construction_Name == "Slab F"


def test_notes_name_the_model_the_set_and_what_was_left_alone(engine, tmp_path):
    idf = model(engine, tmp_path, detailed("F1", "Floor", "Slab F", "GroundFCfactorMethod"))
    study = parse_study(
        {
            "name": "s",
            "models": ["m.idf"],
            "weather": ["w.epw"],
            "construction_sets": {"base": {}, "floors": {"ground_floor": INSULATED_WALL}},
        }
    )
    assert envelope_notes(study, [(ModelInput(Path("m.idf"), Path("m.idf")), idf)]) == [
        "model m.idf: 1 floor with Construction:FfactorGroundFloor left alone by set 'floors'"
    ]


def test_ground_floors_include_kiva_foundations_and_spaces_change_nothing(engine, tmp_path):
    body = (
        "Space, S1, Z;\n"
        + detailed("F1", "Floor", "Slab", "Foundation", space="S1")
        + detailed("F2", "Floor", "Slab", "Adiabatic", space="S1")
        + detailed("W1", "Wall", "Wall", "Outdoors", space="S1")
    )
    idf = model(engine, tmp_path, body)
    assert names(surfaces_of_class(idf, "ground_floor")) == ["F1"]
    assert names(surfaces_of_class(idf, "exterior_wall")) == ["W1"]


def test_layered_glazing_is_replaced_and_unused_objects_removed_then_restored(engine, tmp_path):
    body = (
        detailed("W1", "Wall", "Wall", "Outdoors")
        + detailed("P1", "Wall", "Partition", "Adiabatic")
        + window("G1", "W1")
        + "Window, G2, Double, W1, , 1, 0, 0, 1, 1;\n"
        + "GlazedDoor, G3, Double, P1, , 1, 0, 0, 1, 1;\n"
    )
    idf = model(engine, tmp_path, body)
    before = idf_text(idf)
    with construction_set_applied(idf, GLAZING):
        assert {w.Name: w.Construction_Name for w in surfaces_of_class(idf, "window")} == {
            "G1": "EPB window",
            "G2": "EPB window",
        }
        constructions = names(idf.idfobjects["CONSTRUCTION"])
        assert "Double" in constructions  # the interior glass door still uses it
    with construction_set_applied(idf, WALLS):  # Brick and Board are still used
        constructions = names(idf.idfobjects["CONSTRUCTION"])
        assert "Wall" not in constructions and "Partition" in constructions
        assert names(idf.idfobjects["MATERIAL"]) == [
            "Brick",
            "Board",
            "EPB exterior_wall L1 Brick",
            "EPB exterior_wall L2 Mineral wool",
        ]
    assert idf_text(idf) == before


def test_glazing_materials_other_constructions_use_stay(engine, tmp_path):
    idf = model(engine, tmp_path, detailed("W1", "Wall", "Wall", "Outdoors") + window("G1", "W1"))
    with construction_set_applied(idf, GLAZING):
        assert "Double" not in names(idf.idfobjects["CONSTRUCTION"])
        assert names(idf.idfobjects["WINDOWMATERIAL:GAS"]) == ["Air 13mm"]  # in "Double shaded"


def test_shaded_constructions_get_the_simple_glazing(engine, tmp_path):
    body = (
        detailed("W1", "Wall", "Wall", "Outdoors")
        + window("G1", "W1")
        + window("G2", "W1")
        + window("G3", "W1")
        + window("G4", "W1")
        + shading("In", "InteriorShade", "Double shaded", "G1")
        + shading("Out", "ExteriorShade", "", "G2")
        + shading("Between", "BetweenGlassBlind", "Double shaded", "G3")
        + shading("Switch", "SwitchableGlazing", "Double", "G4")
    )
    idf = model(engine, tmp_path, body)
    before = idf_text(idf)
    assert names(surfaces_of_class(idf, "window")) == ["G1", "G2", "G4"]
    assert set_notes(idf, GLAZING) == [
        "1 window with a between-glass WindowShadingControl left alone",
        "the switched-state construction 'Double' of WindowShadingControl 'Switch' left alone",
    ]
    with construction_set_applied(idf, GLAZING):
        controls = {
            c.Name: c.Construction_with_Shading_Name for c in idf.idfobjects["WINDOWSHADINGCONTROL"]
        }
        assert controls == {
            "In": "EPB window shaded 1",
            "Out": "",
            "Between": "Double shaded",
            "Switch": "Double",
        }
        shaded = idf.getobject("CONSTRUCTION", "EPB window shaded 1")
        assert [shaded.Outside_Layer, shaded.Layer_2] == ["EPB window glazing", "Roller"]
    assert idf_text(idf) == before


def test_non_ascii_names_round_trip_byte_exact(engine, tmp_path):
    body = (
        f"Construction, {FACADE}, Brick;\n"
        + detailed("Mur été", "Wall", FACADE, "Outdoors")
        + window("Fenêtre", "Mur été")
    )
    idf = model(engine, tmp_path, body)
    original = (tmp_path / "m.idf").read_bytes()
    with construction_set_applied(idf, WALLS):
        text = idf_text(idf).encode("latin-1")
        assert FACADE.encode() not in text  # replaced, and unused now
    text = idf_text(idf).encode("latin-1")
    for name in (FACADE, "Mur été", "Fenêtre"):
        assert name.encode() in original and text.count(name.encode()) == original.count(
            name.encode()
        )
    with construction_set_applied(idf, GLAZING):
        assert "Mur été".encode() in idf_text(idf).encode("latin-1")


@pytest.mark.parametrize("surface_class", ["exterior_wall", "roof", "ground_floor", "window"])
def test_names_compare_as_energyplus_does(engine, tmp_path, surface_class):
    idf = model(
        engine,
        tmp_path,
        detailed("wall é", "WALL", "wall", "OUTDOORS")
        + detailed("R", "roof", "wall", "outdoors")
        + detailed("F", "FLOOR", "slab", "ground")
        + window("G", "WALL é"),
    )
    assert len(surfaces_of_class(idf, surface_class)) == 1
