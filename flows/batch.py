"""The parent flow: validate -> generate variants -> map simulations -> aggregate."""

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import ThreadPoolTaskRunner

from epbatch.batch import BatchSummary, plan_batch
from epbatch.results import VariantResult
from epbatch.settings import get_settings
from epbatch.simulate import failed_result
from tasks.aggregate import aggregate_batch_results
from tasks.simulate import run_single_variant


@flow(name="run-energyplus-batch", validate_parameters=True)
def run_energyplus_batch(study: str, slots: int | None = None) -> BatchSummary:
    """Run every variant of the study file ``study``, ``slots`` EnergyPlus processes at a time."""
    logger = get_run_logger()
    settings = get_settings()
    plan = plan_batch(Path(study), settings, slots)
    logger.info(
        "batch %s: %d variants on %d slots in %s",
        plan.batch_id,
        len(plan.variants),
        plan.slots,
        plan.folder,
    )
    with ThreadPoolTaskRunner[VariantResult](max_workers=plan.slots) as runner:
        futures: list[PrefectFuture[VariantResult]] = [
            runner.submit(run_single_variant, {"variant": variant, "options": plan.options})
            for variant in plan.variants
        ]
        wait(futures)  # leaving the runner cancels what is still running
    results = [
        future.result()
        if future.state.is_completed()
        else failed_result(variant, plan.options, f"task crashed: {future.state.message}")
        for future, variant in zip(futures, plan.variants, strict=True)
    ]
    summary = aggregate_batch_results(plan, results, settings.resolved_database_url)
    logger.info("%s", summary)
    return summary
