"""Parametric studies through the whole flow: real Prefect server, real engine (design days),
real SQLite; samples, parameter columns, the cache across runs, sensitivity indices."""

import csv

import pandas as pd
import pytest
from sqlalchemy import create_engine

from epbatch.store.database import load_samples
from epbatch.variants.generate import slug
from epbatch.variants.plan import BATCH_FILE, BatchInfo
from flows.batch import batch_summary, run_energyplus_batch
from tests.conftest import study_data
from tests.flows.test_batch_flow import read_artifacts

pytestmark = [pytest.mark.prefect, pytest.mark.engine]

PARAMETERS = {
    "infiltration_ach": {
        "set": {
            "object": "ZoneInfiltration:DesignFlowRate",
            "field": "Air Changes per Hour",
            "also": {"Design Flow Rate Calculation Method": "AirChanges/Hour"},
        },
        "range": [0.1, 2.0],
    },
    "lighting_w_m2": {
        "set": {
            "object": "Lights",
            "field": "Watts per Floor Area",
            "also": {"Design Level Calculation Method": "Watts/Area"},
        },
        "range": [4.0, 14.0],
    },
    "north_axis": {
        "set": {"object": "Building", "field": "North Axis"},
        "values": [0, 90, 180, 270],
    },
}


def parametric_study(write_study, models, sampling):
    return write_study(
        study_data(
            models=[str(models / "5ZoneAirCooled.idf")],
            run_period="design-days",
            construction_sets={"baseline": {}},
            parameters=PARAMETERS,
            sampling=sampling,
        )
    )


def test_an_lhs_study_runs_and_the_same_seed_again_is_all_cached(
    prefect_api, output_dir, fresh_cache, write_study, models
):
    study = parametric_study(write_study, models, {"method": "lhs", "samples": 8, "seed": 11})
    first = batch_summary(run_energyplus_batch(str(study), slots=2, return_state=True))
    assert (first.total, first.succeeded, first.cached) == (8, 8, 0)

    samples = pd.read_parquet(first.folder / "samples.parquet")
    assert list(samples.columns) == ["sample_id", *PARAMETERS]
    assert samples.sample_id.tolist() == [f"p{i:04d}" for i in range(1, 9)]
    results = pd.read_parquet(first.folder / "results.parquet")
    assert results.variant_id.str.fullmatch(
        r"5zoneaircooled__baseline__usa-il-chicago-ohare-intl-ap-725300-tmy3__p000[1-8]"
    ).all()
    merged = results.merge(samples, on="sample_id", suffixes=("", "_sampled"))
    assert len(merged) == 8
    for name in PARAMETERS:  # each variant's row holds the values of its sample
        assert (merged[name] == merged[f"{name}_sampled"]).all(), name
    strata = sorted(int((v - 0.1) / 1.9 * 8) for v in samples.infiltration_ach)
    assert strata == list(range(8))  # a Latin hypercube: one sample per stratum
    heating = results.set_index("infiltration_ach").sort_index().design_heating_kw
    assert heating.iloc[-1] > heating.iloc[0]  # more infiltration, larger heating load
    csv_results = pd.read_csv(first.folder / "results.csv")
    assert list(csv_results.columns) == list(results.columns)
    assert BatchInfo.read(first.folder / BATCH_FILE).parameters == list(PARAMETERS)
    engine = create_engine(first.database_url)
    pd.testing.assert_frame_equal(load_samples(engine, first.batch_id), samples)
    engine.dispose()

    second = batch_summary(run_energyplus_batch(str(study), slots=2, return_state=True))
    assert (second.total, second.succeeded, second.cached) == (8, 8, 8)
    again = pd.read_parquet(second.folder / "results.parquet")
    assert again.variant_id.tolist() == results.variant_id.tolist()
    assert set(again.cached_from) == {first.batch_id}
    pd.testing.assert_frame_equal(pd.read_parquet(second.folder / "samples.parquet"), samples)


def test_a_morris_study_on_design_days_ranks_every_parameter(
    prefect_api, output_dir, fresh_cache, write_study, models
):
    study = parametric_study(write_study, models, {"method": "morris", "samples": 3, "seed": 5})
    summary = batch_summary(run_energyplus_batch(str(study), slots=2, return_state=True))
    assert (summary.total, summary.succeeded) == (3 * (3 + 1), 12)
    with (summary.folder / "sensitivity.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "output", "parameter", "method", "mu_star", "mu_star_conf", "sigma",
        "S1", "S1_conf", "ST", "ST_conf", "rank",
    ]  # fmt: skip
    for output in ("design_heating_kw", "design_cooling_kw"):
        found = [r for r in rows if r["output"] == output]
        assert sorted(r["parameter"] for r in found) == sorted(PARAMETERS), output
        assert [r["rank"] for r in found] == ["1", "2", "3"]
        assert all(r["method"] == "morris" and r["mu_star"] and r["S1"] == "" for r in found)
    heating = {
        r["parameter"]: float(r["mu_star"]) for r in rows if r["output"] == "design_heating_kw"
    }
    assert max(heating, key=heating.__getitem__) == "infiltration_ach"
    key = slug(summary.batch_id)
    artifact = read_artifacts(key)[f"{key}-sensitivity"]
    assert artifact.type == "table"
