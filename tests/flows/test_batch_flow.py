"""The parent flow end to end: real Prefect server, real engine, real SQLite results."""

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import Artifact
from sqlalchemy import create_engine, text

from epbatch.study.spec import StudyError
from epbatch.variants.generate import slug
from flows.batch import batch_summary, run_energyplus_batch
from tests.conftest import GOLDEN, study_data
from tests.flows.conftest import SLOTS
from tests.flows.helpers import engine_intervals, max_overlap, task_runs
from tests.reliability.conftest import roof_study

pytestmark = [pytest.mark.prefect, pytest.mark.engine]


def read_artifacts(key_prefix: str) -> dict[str, Artifact]:
    """The latest artifact per key, for keys starting with ``key_prefix``."""

    async def read() -> list[Artifact]:
        async with get_client() as client:
            return await client.read_artifacts()

    found = sorted(
        (a for a in asyncio.run(read()) if (a.key or "").startswith(key_prefix)),
        key=lambda a: a.created or 0,
    )
    return {a.key: a for a in found if a.key}


def test_batch_stores_every_variant_even_when_one_fails(
    prefect_api, output_dir, fresh_cache, write_study, models, tmp_path, engine_log
):
    broken = tmp_path / "broken.idf"
    broken.write_text(
        (models / "1ZoneUncontrolled.idf").read_text().replace("R31LAYER;", "NO SUCH LAYER;", 1)
    )  # the roof: no construction set fixes it
    study = write_study(
        study_data(
            models=[str(models / "5ZoneAirCooled.idf"), str(broken)],
            weather=[GOLDEN],
            construction_sets={
                "baseline": {},
                "insulated-walls": study_data()["construction_sets"]["insulated-walls"],
            },
        )
    )
    state = run_energyplus_batch(str(study), slots=2, return_state=True)
    summary = batch_summary(state)
    assert (summary.total, summary.succeeded, summary.failed) == (4, 2, 2)
    assert state.is_failed() and state.message == "2 of 4 variants failed; results stored"

    frame = pd.read_parquet(summary.folder / "results.parquet").set_index("variant_id")
    assert len(frame) == 4 and len(pd.read_csv(summary.folder / "results.csv")) == 4
    failed = frame[frame.status == "failed"]
    assert set(failed.model) == {"broken.idf"}
    assert failed.error.str.contains("NO SUCH LAYER").all()
    heating = frame[frame.status == "succeeded"].set_index("construction_set")["heating_gj"]
    assert heating["insulated-walls"] < heating["baseline"]

    with create_engine(summary.database_url).connect() as db:
        counts = [
            db.execute(
                text(f"SELECT count(*) FROM {t} WHERE batch_id = :b"),  # noqa: S608
                {"b": summary.batch_id},
            ).scalar()
            for t in ("batches", "variants", "results")
        ]
    assert counts == [1, 4, 4]

    runs = task_runs(state.state_details.flow_run_id)
    assert sorted(r.name for r in runs) == sorted(frame.index)
    states = {r.name: r.state_name for r in runs}
    assert states == {
        v: "Failed" if m == "broken.idf" else "Completed" for v, m in frame.model.items()
    }  # failures show as failures in the UI
    assert 1 <= max_overlap(engine_intervals(engine_log)) <= 2  # slots bound the engines

    artifacts = read_artifacts(f"{slug(summary.batch_id)}-")
    progress = artifacts[f"{slug(summary.batch_id)}-progress"]
    assert progress.data == 100.0 and "4 of 4 variants done" in str(progress.description)
    assert f"{slug(summary.batch_id)}-status" not in artifacts  # one progress view, not two
    table = artifacts[f"{slug(summary.batch_id)}-results"].data
    assert isinstance(table, str) and len(json.loads(table)) == 4


def test_invalid_study_fails_before_any_simulation(
    prefect_api, output_dir, fresh_cache, write_study
):
    study = write_study(study_data(models=["missing.idf"]))
    with pytest.raises(StudyError, match=r"models\.0: model file not found"):
        run_energyplus_batch(str(study))
    assert not any(output_dir.glob("**/in.idf"))


def test_a_task_run_that_lost_the_api_is_submitted_again(
    prefect_api, output_dir, fresh_cache, tmp_path, monkeypatch, caplog
):
    """A task run that raised instead of ending in a state (its API calls failed, e.g. the
    server away for longer than the slot pool waits for it) is submitted again by the flow
    once the API answers: every variant is stored once, succeeded."""
    from tasks.slots import LeasePool

    take_slot = LeasePool.slot
    lost: list[object] = []

    @contextmanager
    def lost_once(pool: LeasePool, holder: object) -> Iterator[None]:
        if not lost:
            lost.append(holder)
            raise httpx.ConnectError("All connection attempts failed")
        with take_slot(pool, holder):  # type: ignore[arg-type]
            yield

    monkeypatch.setattr(LeasePool, "slot", lost_once)
    study = roof_study(tmp_path, "lost-api", 3, "design-days")
    summary = batch_summary(run_energyplus_batch(str(study), slots=SLOTS, return_state=True))
    assert len(lost) == 1
    assert "submitting it again once the API answers" in caplog.text
    assert (summary.succeeded, summary.failed) == (3, 0)
    with create_engine(summary.database_url).connect() as db:
        rows = db.execute(
            text("SELECT variant_id FROM results WHERE batch_id = :b"), {"b": summary.batch_id}
        )
        ids = rows.scalars().all()
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 3
