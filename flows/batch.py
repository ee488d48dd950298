"""The parent flow: validate -> generate variants -> map simulations -> aggregate."""

import gc
import logging
import threading
import time
from importlib import import_module
from typing import Any

from prefect import Task, flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture, as_completed
from prefect.results import ResultStore, get_result_store
from prefect.settings import PREFECT_API_URL
from prefect.states import Failed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from epbatch.ops.progress import BatchProgress, tracked
from epbatch.ops.server import is_healthy
from epbatch.results.records import VariantResult
from epbatch.run import head_start
from epbatch.run.budget import FailureBudget
from epbatch.run.runners.base import RunnerName
from epbatch.run.simulate import (
    VariantFailed,
    failed_result,
    link_reused_outputs,
    reused_result,
    skipped_result,
)
from epbatch.settings import get_settings
from epbatch.study.demo import study_path
from epbatch.variants.generate import Variant
from epbatch.variants.plan import (
    BatchPlan,
    BatchSummary,
    failure_message,
    flow_run_name,
    plan_batch,
    take_plan,
)
from flows.artifacts import UiProgress, publish_sensitivity
from tasks.aggregate import aggregate_batch_results
from tasks.simulate import (
    CachedResultGone,
    reuse_cached_variant,
    run_single_variant,
)
from tasks.slots import lease_pool

# A task run whose engine raised instead of ending in a state lost the Prefect API (a server
# restart: Prefect's slot release does not retry a refused connection). It is submitted again
# once the API answers; a simulation that had finished comes back from the cache, not re-run.
RESUBMITS = 3
TERMINAL = {"epbatch_terminal": True}  # `epbatch run` prints this run log line too
API_WAIT_S = 300.0
IN_FLIGHT_PER_SLOT = 2


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
        cached = state.name == "Cached"
        result = future.result()
        if cached:
            link_reused_outputs(variant, result)
        return reused_result(variant, plan.options, result, cached), cached
    error = state.result(raise_on_failure=False)
    if isinstance(error, VariantFailed):
        return error.result, False
    if isinstance(error, CachedResultGone):
        return None
    return failed_result(variant, plan.options, f"task crashed: {state.message}"), False


def is_cached(store: ResultStore, variant: Variant) -> bool:
    """Whether the variant's result is in the cache now (it may still vanish before it is read)."""
    return store.exists(variant.cache_key)


def _submit(
    pool: TaskRunner[Any], variant: Variant, plan: BatchPlan, cached: bool
) -> PrefectFuture[VariantResult]:
    """Cached variants skip the ``energyplus`` slots, so a re-run never waits behind a batch."""
    task: Task[..., VariantResult] = reuse_cached_variant if cached else run_single_variant
    future: PrefectFuture[VariantResult] = pool.submit(
        task, {"variant": variant, "options": plan.options}
    )
    return future


def _prepare_storage_meanwhile(database_url: str) -> None:
    """The storage and the report: pandas, SQLAlchemy, Alembic (~0.6-0.9 s to import; the
    report's own modules ~0.03 s) imported, and the results database created or upgraded,
    while the engines run, neither before the first one starts nor after the last one ends."""

    def prepare() -> None:
        import_module("epbatch.store.aggregate").prepare_database(database_url)

    threading.Thread(target=prepare, name="epbatch-storage", daemon=True).start()


def _task_runner(slots: int, dask_address: str | None, head_started: bool) -> TaskRunner[Any]:
    """Threads of this process, or an existing Dask cluster.

    A thread per variant in flight: a slot's next task run is created and waits (Pending) for
    the slot, which its predecessor hands over as its engine exits (``tasks/slots.py``). After
    a head start, one thread per slot: the head start's engines hold no slot, so the task runs
    claiming them must come first, in order."""
    if dask_address:
        from prefect_dask.task_runners import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    return ThreadPoolTaskRunner(max_workers=slots if head_started else IN_FLIGHT_PER_SLOT * slots)


class _Submissions:
    """The batch's variants, submitted lazily: ``IN_FLIGHT_PER_SLOT`` per slot in flight (a
    slot's next variant waits in the pool, not in this loop), refilled as each ends, so that a
    stopped batch really stops submitting."""

    def __init__(self, pool: TaskRunner[Any], plan: BatchPlan) -> None:
        store = get_result_store().update_for_task(run_single_variant)  # where its cache lives
        assert isinstance(store, ResultStore)  # the sync API, called outside an event loop
        self.pool, self.plan, self.store = pool, plan, store
        self.unsubmitted = iter(plan.variants)  # each IDF is written as it is reached
        self.pending: dict[PrefectFuture[VariantResult], tuple[Variant, int]] = {}

    def fill(self) -> None:
        """Submit variants until the window is full or none is left."""
        while len(self.pending) < IN_FLIGHT_PER_SLOT * self.plan.slots:
            variant = next(self.unsubmitted, None)
            if variant is None:
                return
            self.submit(variant, is_cached(self.store, variant))

    def submit(self, variant: Variant, cached: bool, resubmits: int = 0) -> None:
        self.pending[_submit(self.pool, variant, self.plan, cached)] = (variant, resubmits)

    def next_ended(self) -> tuple[PrefectFuture[VariantResult], Variant, int]:
        """The first pending future to end, its variant and how often it was resubmitted."""
        future = next(as_completed(list(self.pending)))
        return future, *self.pending.pop(future)


def _ended(
    future: PrefectFuture[VariantResult],
    variant: Variant,
    resubmits: int,
    plan: BatchPlan,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> tuple[VariantResult, bool] | None:
    """``_outcome`` (``None``: submit the variant again), also ``None`` once the API answers
    again after the task engine lost it, up to ``RESUBMITS`` times."""
    try:
        return _outcome(future, variant, plan)
    except Exception as error:  # the task engine lost the API, not the simulation
        if resubmits >= RESUBMITS:
            return failed_result(variant, plan.options, f"task crashed: {error!r}"), False
        logger.warning(
            "variant %s: %r; submitting it again once the API answers",
            variant.variant_id,
            error,
            extra=TERMINAL,
        )
        _wait_for_api()
        return None


def _skip_unsubmitted(
    plan: BatchPlan,
    reason: str,
    progress: BatchProgress,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> list[VariantResult]:
    """The records of the variants a stopped batch never submitted (no IDF, no engine run)."""
    skipped = [skipped_result(name, plan.options, reason) for name in plan.variants.unwritten()]
    if skipped:
        logger.warning("%s; %d variants not submitted are skipped", reason, len(skipped))
        progress.skip(len(skipped), reason)
    return skipped


def _run_variants(
    pool: TaskRunner[Any],
    plan: BatchPlan,
    progress: BatchProgress,
    logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> dict[str, VariantResult]:
    """Every variant's record, as each ends; none is lost to a vanished cache or a lost API.

    Once the failure budget stops the batch, the variants not submitted yet are ``skipped``;
    those in flight end normally. Each end is published by ``progress`` (the UI follows it).
    """
    budget = FailureBudget(len(plan.variants), plan.study.failure_budget)
    runs = _Submissions(pool, plan)
    lease_pool().adopt(head_start.stop())  # from now on, only task runs start engines
    runs.fill()
    _prepare_storage_meanwhile(get_settings().resolved_database_url)
    by_id: dict[str, VariantResult] = {}
    stopped = False
    while runs.pending:
        future, variant, resubmits = runs.next_ended()
        outcome = _ended(future, variant, resubmits, plan, logger)
        if outcome is None:  # submitted again: never from the (vanished) cache entry
            runs.submit(variant, cached=False, resubmits=resubmits + 1)
            continue
        result, cached = outcome
        by_id[result.variant_id] = result
        progress.add(result, cached)
        reason = budget.add(result)
        if reason is None:
            runs.fill()
        elif not stopped:
            stopped = True
            by_id |= {r.variant_id: r for r in _skip_unsubmitted(plan, reason, progress, logger)}
    return by_id


@flow(name="run-energyplus-batch", validate_parameters=True)
def run_energyplus_batch(
    study: str,
    slots: int | None = None,
    runner: RunnerName | None = None,
    dask_address: str | None = None,
) -> BatchSummary | State[BatchSummary]:
    """Run every variant of the study file ``study`` (``demo``: the demo study), ``slots``
    EnergyPlus processes at a time.

    ``slots`` and ``runner`` (local or docker) override the study file's. ``dask_address``
    (default ``EPBATCH_DASK_ADDRESS``) sends the simulations to that Dask scheduler's workers
    instead of this process's threads; the ``energyplus`` limit still caps them.

    Ends ``Completed`` when every variant succeeded, else ``Failed`` ("2 of 6 variants
    failed; results stored") with the summary as its result: every row is stored either way.
    """
    logger = get_run_logger()
    settings = get_settings()
    study_file = study_path(study, settings.output_dir)
    plan = take_plan(study_file, slots, runner) or plan_batch(study_file, settings, slots, runner)
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
    ui = UiProgress(progress, flow_run_name(plan.study.name, plan.batch_id))
    try:
        with (
            tracked(progress),
            _task_runner(
                plan.slots, dask_address or settings.dask_address, head_start.active()
            ) as pool,
        ):
            by_id = _run_variants(pool, plan, progress, logger)  # inside: leaving cancels runs
    finally:
        head_start.abandon()  # its simulations were all claimed: it ends with the batch
        lease_pool().release_all()  # the slots this batch's variants handed on, now
        ui.close()
    results = [by_id[name.variant_id] for name in plan.variants.names]
    ui.finish(results, parameter_values(plan))
    summary = aggregate_batch_results(plan, results, settings.resolved_database_url)
    ui.report(plan.folder)  # report.html is written: its charts and savings table in the UI
    publish_sensitivity(plan.batch_id, plan.folder)
    logger.info("%s", summary)
    message = failure_message(summary)
    if message is None:
        return summary
    return Failed(message=message, data=summary)  # lists, dashboards, automations see it


def parameter_values(plan: BatchPlan) -> dict[str, dict[str, Any]]:
    """Each variant's parameter values, by variant id (none without parameters)."""
    if plan.samples is None:
        return {}
    by_sample = dict(zip(plan.samples.ids, plan.samples.values, strict=True))
    return {n.variant_id: by_sample[n.sample_id] for n in plan.variants.names if n.sample_id}


def batch_summary(state: State[Any]) -> BatchSummary:
    """The summary a finished flow run of ``run_energyplus_batch`` returned, ``Completed`` or
    ``Failed`` because variants failed; raises what the flow raised (invalid input,
    ``StorageError``)."""
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, BatchSummary), result
    return result


def run_batch(
    study: str, slots: int | None = None, runner: RunnerName | None = None
) -> BatchSummary:
    """Run the flow; its summary, also when the flow run ended ``Failed`` (``batch_summary``)."""
    return batch_summary(run_energyplus_batch(study, slots, runner, return_state=True))
