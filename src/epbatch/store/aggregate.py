"""Storing a batch's results: when it ends (``record_batch``), or later from its saved tables.

The results tables (``results.parquet``/``.csv``) are written before the database: when the
database cannot be reached, nothing is lost, and ``epbatch aggregate BATCH_ID`` stores the saved
tables once it can (replacing the batch's rows, so running it twice leaves no duplicates).
"""

import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pandas as pd

from epbatch.report.html import write_report
from epbatch.results.records import Status, VariantResult
from epbatch.results.sensitivity import METHODS, analyse, write_sensitivity
from epbatch.store.database import (
    BatchRow,
    database,
    results_frame,
    store_batch,
    upgrade_database,
    write_tables,
)
from epbatch.store.migrate import display_url
from epbatch.variants.plan import (
    BATCH_FILE,
    BatchInfo,
    BatchPlan,
    BatchSummary,
    StorageError,
    batch_info,
)
from epbatch.variants.sampling import SAMPLES_FILE

RESULTS_FILE = "results.parquet"
logger = logging.getLogger("epbatch")
_BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")


class BatchNotFoundError(LookupError):
    """No saved batch (or no finished one) under that id."""


def batch_row(info: BatchInfo, results: list[VariantResult], finished_at: datetime) -> BatchRow:
    counts = Counter(r.status for r in results)
    return BatchRow(
        batch_id=info.batch_id,
        study_name=info.study_name,
        study_file=info.study_file,
        output_dir=info.folder,
        engine_version=info.engine_version,
        started_at=datetime.fromisoformat(info.started_at),
        finished_at=finished_at,
        n_variants=len(results),
        n_succeeded=counts["succeeded"],
        n_failed=counts["failed"],
    )


def prepare_database(database_url: str) -> None:
    """Create or upgrade the results database now, while the engines run (a new SQLite one:
    ~0.2 s, Alembic's import included, that would otherwise come after the last engine).
    A failure is left to ``store_or_explain``, which meets it again and says what to do."""
    try:
        upgrade_database(database_url)
    except Exception as error:
        logger.debug("results database not prepared ahead: %r", error)


def store_or_explain(
    info: BatchInfo,
    results: list[VariantResult],
    finished_at: datetime,
    database_url: str,
    samples: pd.DataFrame | None = None,
    sample_ids: Mapping[str, str] | None = None,
) -> None:
    """Store the batch's rows in one transaction, or raise ``StorageError`` saying what to do."""
    try:
        engine = database(database_url)
        try:
            store_batch(engine, batch_row(info, results, finished_at), results, samples, sample_ids)
        finally:
            engine.dispose()
    except Exception as error:
        cause = " ".join(str(error).split())[:500] or type(error).__name__
        raise StorageError(
            f"batch {info.batch_id}: the results are saved in {info.folder}/{RESULTS_FILE} "
            f"(and results.csv) but could not be stored in {display_url(database_url)}: "
            f"{type(error).__name__}: {cause}\n"
            f"Store them once the database is reachable: `epbatch --output-dir "
            f"{Path(info.folder).parent.parent} aggregate {info.batch_id}` (with the same "
            f"--database-url or EPBATCH_DATABASE_URL)."
        ) from error


def find_batch(output_dir: Path, batch_id: str) -> BatchInfo:
    """The ``batch.json`` of ``batch_id`` under ``output_dir/<study>/``."""
    if not _BATCH_ID.fullmatch(batch_id):
        raise BatchNotFoundError(
            f"{batch_id!r} is not a batch id (e.g. demo-20250101T120000-ab12cd)"
        )
    found = sorted(output_dir.glob(f"*/{batch_id}/{BATCH_FILE}"))
    if not found:
        raise BatchNotFoundError(f"no batch {batch_id} in {output_dir} (no {BATCH_FILE})")
    return BatchInfo.read(found[0])


def _native(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def saved_results(info: BatchInfo) -> list[VariantResult]:
    """The batch's rows as written to ``results.parquet``."""
    path = Path(info.folder) / RESULTS_FILE
    if not path.is_file():
        raise BatchNotFoundError(
            f"batch {info.batch_id} has no {RESULTS_FILE} in {info.folder}: it did not finish "
            "(run the study again: finished variants come from the cache)"
        )
    types = {f.name: f.type for f in fields(VariantResult)}
    results = []
    for row in pd.read_parquet(path).to_dict("records"):
        values = {k: _native(v) for k, v in row.items()}
        for name in ("warnings", "severe_errors", "exit_code"):
            if values.get(name) is not None:
                values[name] = int(values[name])
        if values.get("batch_id") != info.batch_id or values.get("status") not in get_args(Status):
            raise BatchNotFoundError(f"{path}: not the results of batch {info.batch_id}")
        results.append(VariantResult(**{k: v for k, v in values.items() if k in types}))
    return results


def saved_samples(info: BatchInfo) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """A batch with parameters: its ``samples.parquet`` and each variant's sample id (the
    ``sample_id`` column of ``results.parquet``); ``None, {}`` without parameters."""
    if not info.parameters:
        return None, {}
    folder = Path(info.folder)
    if not (folder / SAMPLES_FILE).is_file():
        raise BatchNotFoundError(f"batch {info.batch_id} has parameters but no {SAMPLES_FILE}")
    samples = pd.read_parquet(folder / SAMPLES_FILE)
    saved = pd.read_parquet(folder / RESULTS_FILE, columns=["variant_id", "sample_id"])
    ids = {str(v): str(s) for v, s in zip(saved.variant_id, saved.sample_id, strict=True) if s}
    return samples, ids


def plan_samples(plan: BatchPlan) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """The plan's samples as a table and each variant's sample id (none without parameters)."""
    if plan.samples is None:
        return None, {}
    samples = pd.read_parquet(plan.folder / SAMPLES_FILE)  # as written at plan time
    ids = {n.variant_id: n.sample_id for n in plan.variants.names if n.sample_id}
    return samples, ids


def sensitivity_notes(
    plan: BatchPlan, results: Sequence[VariantResult], sample_ids: dict[str, str]
) -> list[str]:
    """Write the batch's ``sensitivity.csv`` (Morris or Sobol indices); what the analysis left
    out or could not do, one line each. Never raises: the results are stored either way."""
    assert plan.samples is not None
    try:
        found = analyse(plan.samples, results, sample_ids, plan.study.run_period == "design-days")
    except Exception as error:  # SALib on a design it cannot take: the rows still get stored
        return [f"sensitivity: not computed: {type(error).__name__}: {error}"]
    if found.rows:
        write_sensitivity(found.rows, plan.folder)
    return found.notes


@dataclass(frozen=True)
class Aggregated:
    batch_id: str
    total: int
    succeeded: int
    failed: int
    skipped: int
    database: str
    cached: int = 0  # of the succeeded: outputs of an earlier batch (``cached_from``)

    def __str__(self) -> str:
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        cached = f", {self.cached} cached" if self.cached else ""
        return (
            f"batch {self.batch_id}: stored {self.total} variants ({self.succeeded} succeeded, "
            f"{self.failed} failed{skipped}{cached}) in {self.database}"
        )


def aggregate_saved_batch(output_dir: Path, batch_id: str, database_url: str) -> Aggregated:
    """Store a finished batch's saved results in the database (again): no rows lost or doubled."""
    info = find_batch(output_dir, batch_id)
    results = saved_results(info)
    parquet = Path(info.folder) / RESULTS_FILE
    samples, sample_ids = saved_samples(info)
    finished = (
        datetime.fromisoformat(info.finished_at)
        if info.finished_at
        else datetime.fromtimestamp(parquet.stat().st_mtime, UTC)
    )
    store_or_explain(info, results, finished, database_url, samples, sample_ids)
    counts = Counter(r.status for r in results)
    return Aggregated(
        batch_id,
        len(results),
        counts["succeeded"],
        counts["failed"],
        counts["skipped"],
        display_url(database_url),
        sum(r.cached_from is not None for r in results),
    )


def cached_series(plan: BatchPlan, results: Sequence[VariantResult]) -> None:
    """The hourly series of the variants this batch did not simulate (cached), read from the
    outputs their ``out`` links to."""
    from epbatch.results.timeseries import copy_cached_series

    for result in results:
        if result.status == "succeeded":
            out = plan.folder / "variants" / result.variant_id / "out"
            try:
                found = copy_cached_series(
                    plan.folder, result.variant_id, out, plan.options.timeseries
                )
            except (OSError, ValueError) as error:
                found, reason = None, str(error)
            else:
                reason = f"{out} has no eplusout.sql"
            if found is None:
                logger.warning("%s: no hourly series: %s", result.variant_id, reason)


def write_batch_report(folder: Path) -> Path | None:
    """Write the batch's ``report.html``; a report that cannot be made is logged, never lost
    results (``epbatch report BATCH_ID`` makes it again)."""
    try:
        return write_report(folder)
    except Exception as error:
        logger.warning("the batch report %s/report.html could not be written: %s", folder, error)
        return None


def record_batch(
    plan: BatchPlan, results: Sequence[VariantResult], database_url: str
) -> BatchSummary:
    """Store every result (failed ones too) in the database and as Parquet/CSV tables."""
    counts = Counter(r.status for r in results)
    finished = datetime.now(UTC)
    samples, sample_ids = plan_samples(plan)
    # first: a database failure loses nothing
    write_tables(results_frame(results, samples, sample_ids), plan.folder)
    if plan.options.timeseries:
        cached_series(plan, results)
    info = batch_info(plan, finished)
    if plan.samples is not None and plan.samples.method in METHODS:
        notes = sensitivity_notes(plan, results, sample_ids)
        info = replace(info, notes=[*(info.notes or []), *notes])
    info.write()
    write_batch_report(plan.folder)
    store_or_explain(info, list(results), finished, database_url, samples, sample_ids)
    return BatchSummary(
        plan.batch_id,
        plan.folder,
        len(results),
        counts["succeeded"],
        counts["failed"],
        database_url,
        counts["skipped"],
        next((r.error for r in results if r.status == "skipped"), None),  # the stop reason
        sum(r.cached_from is not None for r in results),
        plan.study.run_period == "design-days",
    )
