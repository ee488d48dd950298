"""report.html from real EnergyPlus runs (short run periods): every section, the numbers of the
results table, savings against the baseline of the same model and weather, failures, a study
without baseline; and the page in headless Chromium (marker ``browser``)."""

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from epbatch.report.html import REPORT_FILE, SAVINGS, savings_frame
from epbatch.results.records import END_USES, VariantResult
from epbatch.run.simulate import simulate_variant
from epbatch.settings import Settings
from epbatch.store.aggregate import record_batch
from epbatch.variants.plan import BatchPlan, plan_batch
from tests.conftest import GOLDEN, INSULATED_WALL, MODELS, TRIPLE_GLAZING, study_data
from tests.report_pages import CHROMIUM, SECTIONS, chromium, read_page, table_rows, two

pytestmark = pytest.mark.engine


def run_batch(folder: Path, **overrides: object) -> BatchPlan:
    """Plan the study, simulate every variant (2 at a time), store it as a flow would."""
    folder.mkdir(parents=True, exist_ok=True)
    study = folder / "study.yaml"
    study.write_text(yaml.safe_dump(study_data(**overrides)))
    plan = plan_batch(study, Settings(output_dir=folder / "runs"))
    with ThreadPoolExecutor(2) as pool:
        results: list[VariantResult] = list(
            pool.map(lambda v: simulate_variant(v, plan.options), list(plan.variants))
        )
    record_batch(plan, results, f"sqlite:///{folder / 'results.sqlite'}")
    return plan


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> BatchPlan:
    """5ZoneAirCooled, one week in Chicago: baseline, insulated walls, triple glazing."""
    return run_batch(tmp_path_factory.mktemp("three"))


def test_the_report_of_a_real_run_has_every_section_and_the_tables_numbers(three: BatchPlan):
    page_path = three.folder / REPORT_FILE
    assert page_path.is_file(), "aggregate wrote no report.html"
    page = read_page(page_path)
    assert page.sections == SECTIONS  # no parameters section: the batch has none
    assert page.svgs >= 4  # EUI, savings, end uses, unmet hours
    frame = pd.read_parquet(three.folder / "results.parquet")
    assert set(frame["status"]) == {"succeeded"} and len(frame) == 3
    by_id: dict[str, dict[str, Any]] = frame.set_index("variant_id").to_dict("index")  # type: ignore[assignment]

    shown = {row["variant_id"]: row for row in table_rows(page, "results")}
    assert set(shown) == set(by_id)
    for vid, row in shown.items():
        for column in ("eui_mj_m2", "site_energy_gj", "heating_gj", "cooling_gj"):
            assert row[column] == two(by_id[vid][column]), (vid, column)
            assert row["unmet_hours_heating"] == two(by_id[vid]["unmet_hours_heating"])

    uses = {row["variant_id"]: row for row in table_rows(page, "end-uses")}
    base_id = next(v for v in by_id if "__baseline__" in v)
    base = by_id[base_id]
    for column in ("heating_gj", "fans_gj", "interior_lighting_gj", "interior_equipment_gj"):
        assert float(base[column]) > 0, column  # the end uses are read, and shown
    for vid, row in uses.items():
        columns = [c for c in row if c != "variant_id"]
        assert set(columns) <= set(END_USES)
        assert [row[c] for c in columns] == [two(by_id[vid][c]) for c in columns]
        total = sum(float(by_id[vid][c]) for c in END_USES)
        assert total == pytest.approx(float(by_id[vid]["site_energy_gj"]), rel=0.01)

    saved = {row["variant_id"]: row for row in table_rows(page, "savings")}
    assert set(saved) == {v for v in by_id if "__baseline__" not in v}
    for vid, row in saved.items():
        assert row["baseline_variant_id"] == base_id
        for label, column in SAVINGS.items():
            saving = float(base[column]) - float(by_id[vid][column])
            assert row[f"{label}_savings_gj"] == two(saving)
            reference = float(base[column])  # cooling in a January week: 0, no %
            assert row[f"{label}_savings_pct"] == (
                two(100 * saving / reference) if reference else ""
            )
    assert float(saved[next(v for v in saved if "insulated" in v)]["heating_savings_gj"]) > 0

    text = page_path.read_text()
    assert "3</b><span>variants" in text and "3</b><span>succeeded" in text
    assert str(three.study_file) in text  # the study file
    assert "No variant failed" in text
    for external in ('src="http', 'href="http', "url(http", "@import", "<script"):
        assert external not in text  # self-contained: nothing fetched, nothing run


def test_epbatch_report_writes_it_again(three: BatchPlan, monkeypatch: pytest.MonkeyPatch):
    from epbatch.ops.cli import main

    page = three.folder / REPORT_FILE
    page.unlink()
    output_dir = three.folder.parent.parent
    assert main(["--output-dir", str(output_dir), "report", three.batch_id]) == 0
    assert page.is_file()
    page.unlink()
    assert main(["--output-dir", str(output_dir), "report"]) == 0  # the latest batch
    assert read_page(page).sections == SECTIONS
    assert main(["--output-dir", str(output_dir), "report", "no-such-batch-1"]) == 2


def test_savings_are_against_the_baseline_of_the_same_model_and_weather(tmp_path: Path):
    plan = run_batch(
        tmp_path,
        models=[str(MODELS / "5ZoneAirCooled.idf"), str(MODELS / "1ZoneUncontrolled.idf")],
        weather=["USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw", GOLDEN],
        construction_sets={"baseline": {}, "insulated-walls": {"exterior_wall": INSULATED_WALL}},
        run_period={"start": "01-01", "end": "01-03"},
    )
    frame = pd.read_parquet(plan.folder / "results.parquet")
    assert len(frame) == 8 and set(frame["status"]) == {"succeeded"}
    savings = savings_frame(frame)
    assert savings is not None and len(savings) == 4
    base = frame[frame["construction_set"] == "baseline"].set_index(["model", "weather"])
    for _, row in savings.iterrows():
        expected = base.loc[(row["model"], row["weather"])]
        assert row["baseline_variant_id"] == expected["variant_id"]
        assert row["heating_baseline_gj"] == expected["heating_gj"]
        variant = frame.set_index("variant_id").loc[row["variant_id"]]
        assert row["site_savings_gj"] == pytest.approx(
            expected["site_energy_gj"] - variant["site_energy_gj"]
        )
    # the four model x weather pairs have four different baselines
    assert savings["baseline_variant_id"].nunique() == 4
    rows = {r["variant_id"]: r for r in table_rows(read_page(plan.folder / REPORT_FILE), "savings")}
    for _, row in savings.iterrows():
        assert rows[row["variant_id"]]["baseline_variant_id"] == row["baseline_variant_id"]


def test_a_batch_with_failures_and_no_baseline_renders(tmp_path: Path):
    good = MODELS / "1ZoneUncontrolled.idf"
    broken = tmp_path / "broken.idf"
    broken.write_text(
        good.read_text().replace(
            "ROOF31,                  !- Construction Name",
            "NO SUCH ROOF,            !- Construction Name",
            1,
        )
    )
    plan = run_batch(
        tmp_path,
        models=[str(good), str(broken)],
        weather=[GOLDEN],
        construction_sets={"insulated-walls": {"exterior_wall": INSULATED_WALL}},
    )
    page_path = plan.folder / REPORT_FILE
    page = read_page(page_path)
    assert page.sections == SECTIONS
    text = page_path.read_text()
    assert "no <code>baseline</code> construction set" in text
    [failure] = table_rows(page, "failures")
    assert failure["variant_id"].startswith("broken__") and failure["status"] == "failed"
    assert "NO SUCH ROOF" in failure["message"]
    assert "1</b><span>failed" in text


def test_hourly_series_are_asked_only_when_the_study_lists_them(tmp_path: Path):
    """No engine run: the requests in the IDF, and so in the cache key."""
    keys = {}
    for name, series in (
        ("lean", []),
        ("series", ["Electricity:Facility", "Zone Mean Air Temperature"]),
    ):
        study = tmp_path / f"{name}.yaml"
        study.write_text(
            yaml.safe_dump(study_data(construction_sets={"baseline": {}}, timeseries=series))
        )
        plan = plan_batch(study, Settings(output_dir=tmp_path / name))
        [variant] = list(plan.variants)
        text = variant.idf.read_text(encoding="latin-1")
        asked = "Electricity:Facility,\n  Hourly" in text
        assert asked == bool(series), name
        assert ("Zone Mean Air Temperature,\n  Hourly" in text) == bool(series)
        assert plan.options.timeseries == tuple(series)
        keys[name] = variant.cache_key
    assert keys["lean"] != keys["series"]  # a variant with series never reuses one without


def test_two_annual_variants_give_8760_hours_per_meter_summing_to_the_annual_totals(
    tmp_path: Path,
):
    """The demo's shoebox (one zone, gas heating): a whole year, two meters."""
    from epbatch.study.demo_model import write_demo_model

    model = write_demo_model(tmp_path / "shoebox.idf")
    plan = run_batch(
        tmp_path,
        models=[str(model)],
        run_period="annual",
        construction_sets={"baseline": {}, "triple-glazing": {"window": TRIPLE_GLAZING}},
        timeseries=["Electricity:Facility", "NaturalGas:Facility"],
    )
    frame = pd.read_parquet(plan.folder / "results.parquet").set_index("variant_id")
    assert set(frame["status"]) == {"succeeded"}, frame["error"].tolist()
    by_id: dict[str, dict[str, Any]] = frame.to_dict("index")  # type: ignore[assignment]
    series = pd.read_parquet(plan.folder / "timeseries")
    assert set(series.columns) == {"timestamp", "name", "key", "units", "value", "variant_id"}
    assert set(series["variant_id"].astype(str)) == set(frame.index)
    totals = {"Electricity:Facility": "electricity_gj", "NaturalGas:Facility": "natural_gas_gj"}
    peaks = {
        "Electricity:Facility": "peak_electricity_w",
        "NaturalGas:Facility": "peak_natural_gas_w",
    }
    for (vid, name), rows in series.groupby([series["variant_id"].astype(str), "name"]):
        assert len(rows) == 8760, (vid, name)
        assert (
            rows["timestamp"].is_unique
            and rows["timestamp"].min().strftime("%m-%d %H") == "01-01 00"
        )
        assert set(rows["units"]) == {"J"}
        annual = float(by_id[str(vid)][totals[str(name)]])
        assert annual > 0
        assert rows["value"].sum() / 1e9 == pytest.approx(annual, rel=0.005), (vid, name)
        assert float(by_id[str(vid)][peaks[str(name)]]) == pytest.approx(rows["value"].max() / 3600)
    size = sum(p.stat().st_size for p in (plan.folder / "timeseries").rglob("*.parquet"))
    print(f"hourly series, 2 meters: {size / len(frame) / 1024:.1f} KiB per variant")


# --- in the browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason="no chromium (tools/test.sh installs it)"
)
def test_the_report_opens_in_chromium_and_is_not_blank(three: BatchPlan, tmp_path: Path):
    from PIL import Image, ImageStat

    page = (three.folder / REPORT_FILE).as_uri()
    dom = chromium(["--dump-dom", page], tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert all(f'id="{s}"' in dom.stdout for s in SECTIONS)
    shot = tmp_path / "report.png"
    done = chromium(
        ["--window-size=1200,1600", f"--screenshot={shot}", page], tmp_path / "profile-shot"
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    assert image.size == (1200, 1600)
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # text, bars, axes: not one flat colour
    assert max(ImageStat.Stat(image).stddev) > 10


def test_a_cached_variant_gets_its_series_from_the_outputs_it_reuses(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Batch B reuses batch A's result (a cache hit): its timeseries part is read from the
    outputs its ``out`` links to; variables come with their keys (the zone)."""
    from epbatch.results.timeseries import series_file
    from epbatch.run.simulate import link_reused_outputs, reused_result

    overrides: dict[str, Any] = {
        "models": [str(MODELS / "1ZoneUncontrolled.idf")],
        "weather": [GOLDEN],
        "construction_sets": {"baseline": {}},
        "timeseries": ["Zone Mean Air Temperature", "NaturalGas:Facility"],
    }
    first = run_batch(tmp_path / "a", **overrides)
    assert "no hourly values of ['NaturalGas:Facility']" in caplog.text  # no gas in this model
    [made] = [r for r in pd.read_parquet(first.folder / "results.parquet").to_dict("records")]
    assert made["status"] == "succeeded" and made["peak_electricity_w"] is None

    study = tmp_path / "a" / "study.yaml"
    second = plan_batch(study, Settings(output_dir=tmp_path / "a" / "runs"))
    [variant] = list(second.variants)
    original = VariantResult(
        **{k: v for k, v in made.items() if k in VariantResult.__dataclass_fields__}
    )
    assert link_reused_outputs(variant, original) is not None
    cached = reused_result(variant, second.options, original, cached=True)
    record_batch(second, [cached], f"sqlite:///{tmp_path / 'results.sqlite'}")

    mine = pd.read_parquet(series_file(second.folder, variant.variant_id))
    theirs = pd.read_parquet(series_file(first.folder, variant.variant_id))
    pd.testing.assert_frame_equal(mine, theirs)
    assert set(mine["key"]) == {"ZONE ONE"} and set(mine["units"]) == {"C"}
    assert len(mine) == 7 * 24  # the study's first week
