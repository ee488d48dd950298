"""Parameters run by the real engine on the NREL models: the physics moves the right way."""

from pathlib import Path

import pytest

from epbatch.run.simulate import simulate_variant
from epbatch.settings import Settings
from epbatch.variants.plan import plan_batch
from tests.conftest import study_data

pytestmark = pytest.mark.engine

INFILTRATION = {
    "set": {
        "object": "ZoneInfiltration:DesignFlowRate",
        "field": "Air Changes per Hour",
        "also": {"Design Flow Rate Calculation Method": "AirChanges/Hour"},
    },
    "values": [0.1, 2.0],
}


def run(write_study, tmp_path: Path, **overrides):
    data = study_data(construction_sets={"baseline": {}}, **overrides)
    batch = plan_batch(write_study(data), Settings(output_dir=tmp_path / "runs"))
    results = [simulate_variant(v, batch.options) for v in batch.variants]
    assert {r.status for r in results} == {"succeeded"}, results
    assert batch.samples is not None
    by_sample = dict(zip(batch.samples.ids, batch.samples.values, strict=True))
    return [(by_sample[v.sample_id or ""], r) for v, r in zip(batch.variants, results, strict=True)]


def test_more_infiltration_gives_more_heating(write_study, models, tmp_path):
    """5ZoneAirCooled (hot-water reheat from a boiler) in a Chicago January week."""
    found = run(
        write_study,
        tmp_path,
        models=[str(models / "5ZoneAirCooled.idf")],
        run_period={"start": "01-08", "end": "01-14"},
        parameters={"infiltration_ach": INFILTRATION},
    )
    heating = {values["infiltration_ach"]: r.heating_gj or 0.0 for values, r in found}
    assert heating[2.0] > 1.2 * heating[0.1] > 0, heating


def test_north_axis_changes_cooling_on_a_windowed_model(write_study, models, tmp_path):
    """5ZoneAirCooled has its windows on the south, east, north and west walls: turning the
    building moves them into and out of the July sun."""
    found = run(
        write_study,
        tmp_path,
        models=[str(models / "5ZoneAirCooled.idf")],
        run_period={"start": "07-15", "end": "07-21"},
        parameters={
            "north_axis": {"set": {"object": "Building", "field": "North Axis"}, "values": [0, 90]}
        },
    )
    cooling = {values["north_axis"]: r.cooling_gj or 0.0 for values, r in found}
    assert min(cooling.values()) > 0
    assert abs(cooling[90] - cooling[0]) > 0.01 * cooling[0], cooling
