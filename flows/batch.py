"""The parent flow: validate -> generate variants -> map simulations -> aggregate."""

import gc
import logging
import threading
import time
from importlib import import_module
from pathlib import Path
from typing import Any

from prefect import Task, flow, get_run_logger
from prefect.futures import PrefectFuture, as_completed
from prefect.results import ResultStore, get_result_store
from prefect.settings import PREFECT_API_URL
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from epbatch.batch import BatchPlan, BatchSummary, plan_batch
from epbatch.progress import BatchProgress, tracked
from epbatch.results import VariantResult
from epbatch.runners.base import RunnerName
from epbatch.server import is_healthy
from epbatch.settings import get_settings
from epbatch.simulate import VariantFailed, failed_result, reused_result
from epbatch.variants import Variant
from flows.artifacts import UiProgress
from tasks.aggregate import aggregate_batch_results
from tasks.simulate import (
    CachedResultGone,
    cache_key,
    reuse_cached_variant,
    run_single_variant,
)

# A task run whose engine raised instead of ending in a state lost the Prefect API (a server
# restart: Prefect's slot release does not retry a refused connection). It is submitted again
# once the API answers; a simulation that had finished comes back from the cache, not re-run.
RESUBMITS = 3
API_WAIT_S = 300.0


def _wait_for_api(timeout_s: float = API_WAIT_S) -> None:
    """Return once the Prefect API answers again (or after ``timeout_s``)."""
    url = PREFECT_API_URL.value()
    deadline = time.monotonic() + timeout_s
    while url and not is_healthy(url, timeout_s=2) and time.monotonic() < deadline:
        time.sleep(1)


def _outcome(
    future: PrefectFuture[VariantResult], variant: Variant, plan: BatchPlan
) -> tuple[VariantResult, bool] | None:
    """The variant's record and whether it came from the cache; a crash becomes a record too.

    ``None`` when a cached result vanished before it was read: the variant must run. Raises
    when the task engine itself failed (it lost the API), not the simulation.
    """
    future.wait()  # sets the final state locally; the API may not have it yet
    state = future.state
    if state.is_completed():
        return reused_result(variant, plan.options, future.result()), state.name == "Cached"
    error = state.result(raise_on_failure=False)
    if isinstance(error, VariantFailed):
        return error.result, False
    if isinstance(error, CachedResultGone):
        return None
    return failed_result(variant, plan.options, f"task crashed: {state.message}"), False


def is_cached(store: ResultStore, variant: Variant) -> bool:
    """Whether the variant's result is in the cache now (it may still vanish before it is read)."""
    return store.exists(cache_key(variant))


def _submit(
    pool: TaskRunner[Any], variant: Variant, plan: BatchPlan, cached: bool
) -> PrefectFuture[VariantResult]:
    """Cached variants skip the ``energyplus`` slots, so a re-run never waits behind a batch."""
    task: Task[..., VariantResult] = reuse_cached_variant if cached else run_single_variant
    future: PrefectFuture[VariantResult] = pool.submit(
        task, {"variant": variant, "options": plan.options}
    )
    return future


def _load_storage_meanwhile() -> None:
    """pandas, SQLAlchemy and Alembic take ~0.6 s to import: do it while the engines run,
    not before the first one starts."""
    threading.Thread(target=import_module, args=("epbatch.aggregate",), daemon=True).start()


def _task_runner(slots: int, dask_address: str | None) -> TaskRunner[Any]:
    """Threads of this process (one per slot), or an existing Dask cluster."""
    if dask_address:
        from prefect_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    return ThreadPoolTaskRunner(max_workers=slots)


def _run_variants(
    pool: TaskRunner[Any],
    plan: BatchPlan,
    progress: BatchProgress,
    ui: UiProgress,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> dict[str, VariantResult]:
    """Every variant's record, as each ends; none is lost to a vanished cache or a lost API."""
    store = get_result_store().update_for_task(run_single_variant)  # where its cache lives
    assert isinstance(store, ResultStore)  # the sync API, called outside an event loop
    pending = {_submit(pool, v, plan, is_cached(store, v)): (v, 0) for v in plan.variants}
    _load_storage_meanwhile()
    by_id: dict[str, VariantResult] = {}
    while pending:
        for future in as_completed(list(pending)):
            variant, resubmits = pending.pop(future)
            try:
                outcome = _outcome(future, variant, plan)
            except Exception as error:  # the task engine lost the API, not the simulation
                if resubmits >= RESUBMITS:
                    crashed = failed_result(variant, plan.options, f"task crashed: {error!r}")
                    outcome = crashed, False
                else:
                    logger.warning(
                        "variant %s: %r; submitting it again once the API answers",
                        variant.variant_id,
                        error,
                    )
                    _wait_for_api()
                    outcome = None
            if outcome is None:  # submitted again: never from the (vanished) cache entry
                pending[_submit(pool, variant, plan, cached=False)] = (variant, resubmits + 1)
                continue
            result, cached = outcome
            by_id[result.variant_id] = result
            progress.add(result, cached)
            ui.update()
    return by_id


@flow(name="run-energyplus-batch", validate_parameters=True)
def run_energyplus_batch(
    study: str,
    slots: int | None = None,
    runner: RunnerName | None = None,
    dask_address: str | None = None,
) -> BatchSummary:
    """Run every variant of the study file ``study``, ``slots`` EnergyPlus processes at a time.

    ``slots`` and ``runner`` (local or docker) override the study file's. ``dask_address``
    (default ``EPBATCH_DASK_ADDRESS``) sends the simulations to that Dask scheduler's workers
    instead of this process's threads; the ``energyplus`` limit still caps them.
    """
    logger = get_run_logger()
    settings = get_settings()
    plan = plan_batch(Path(study), settings, slots, runner)
    gc.freeze()  # Prefect, the IDD and the models live as long as the batch: no GC passes over them
    logger.info(
        "batch %s: %d variants on %d slots in %s",
        plan.batch_id,
        len(plan.variants),
        plan.slots,
        plan.folder,
    )
    for note in plan.notes:
        logger.warning("%s", note)
    progress = BatchProgress(plan.batch_id, len(plan.variants), plan.slots, plan.folder)
    ui = UiProgress(progress)
    with tracked(progress), _task_runner(plan.slots, dask_address or settings.dask_address) as pool:
        by_id = _run_variants(pool, plan, progress, ui, logger)  # inside: leaving cancels runs
    results = [by_id[v.variant_id] for v in plan.variants]
    ui.finish(results)
    summary = aggregate_batch_results(plan, results, settings.resolved_database_url)
    logger.info("%s", summary)
    return summary
