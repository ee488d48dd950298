"""Construction sets on a model with shading controls and frames, run by the real engine."""

from pathlib import Path

import pytest

from epbatch.run.simulate import simulate_variant
from epbatch.settings import Settings
from epbatch.variants.idfmodel import idf_text, load_model
from epbatch.variants.plan import plan_batch

pytestmark = pytest.mark.engine


def shaded_five_zone(engine, models: Path, tmp_path: Path) -> Path:
    """5ZoneAirCooled with an interior shade (its own shaded construction of the layered
    glazing) on the front windows, and a frame and divider on every window."""
    idf = load_model(models / "5ZoneAirCooled.idf", engine.idd)
    idf.newidfobject(
        "WINDOWMATERIAL:SHADE",
        Name="Roller",
        Solar_Transmittance=0.3,
        Solar_Reflectance=0.5,
        Visible_Transmittance=0.3,
        Visible_Reflectance=0.5,
        Infrared_Hemispherical_Emissivity=0.9,
        Infrared_Transmittance=0.0,
        Thickness=0.003,
        Conductivity=0.1,
    )
    idf.newidfobject(
        "CONSTRUCTION",
        Name="Dbl Clr shaded",
        Outside_Layer="CLEAR 3MM",
        Layer_2="AIR 13MM",
        Layer_3="CLEAR 3MM",
        Layer_4="Roller",
    )
    idf.newidfobject(
        "WINDOWPROPERTY:FRAMEANDDIVIDER",
        Name="Frame",
        Frame_Width=0.05,
        Frame_Conductance=5.0,
        Divider_Width=0.02,
        Number_of_Horizontal_Dividers=1,
        Divider_Conductance=5.0,
    )
    windows = [
        w for w in idf.idfobjects["FENESTRATIONSURFACE:DETAILED"] if w.Surface_Type == "WINDOW"
    ]
    for window in windows:
        window.Frame_and_Divider_Name = "Frame"
    idf.newidfobject(
        "WINDOWSHADINGCONTROL",
        Name="Front shade",
        Zone_Name="SPACE1-1",
        Shading_Control_Sequence_Number=1,
        Shading_Type="InteriorShade",
        Construction_with_Shading_Name="Dbl Clr shaded",
        Shading_Control_Type="OnIfHighSolarOnWindow",
        Setpoint=100,
        Multiple_Surface_Control_Type="Sequential",
        Fenestration_Surface_1_Name="WF-1",
    )
    path = tmp_path / "shaded.idf"
    path.write_text(idf_text(idf), encoding="latin-1")
    return path


def test_shaded_layered_windows_take_a_simple_glazing_and_less_heat_is_lost(
    engine, models, write_study, tmp_path
):
    model = shaded_five_zone(engine, models, tmp_path)
    batch = plan_batch(write_study(models=[str(model)]), Settings(output_dir=tmp_path / "runs"))
    variants = {v.construction_set: v for v in batch.variants}
    results = {name: simulate_variant(v, batch.options) for name, v in variants.items()}
    assert {r.status for r in results.values()} == {"succeeded"}, results
    heating = {name: r.heating_gj or 0.0 for name, r in results.items()}
    assert heating["insulated-walls"] < 0.95 * heating["baseline"]
    assert heating["triple-glazing"] < 0.95 * heating["baseline"]
    glazed = variants["triple-glazing"].idf.read_text(encoding="latin-1")
    assert "EPB window shaded 1" in glazed and "Dbl Clr shaded" not in glazed
    # the replaced constructions are gone: no "nominally unused constructions" warning
    assert {r.warnings for r in results.values()} == {results["baseline"].warnings}
