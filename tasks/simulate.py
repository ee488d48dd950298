"""The per-variant task: one task run = one EnergyPlus process = one ``energyplus`` slot."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.client.schemas.objects import State, TaskRun

from epbatch.ops.progress import engine_running
from epbatch.results.records import VariantResult, outcome_line
from epbatch.run import head_start
from epbatch.run.simulate import RunOptions, VariantFailed, simulate_variant
from epbatch.variants.generate import Variant
from tasks.slots import lease_pool, pool_energyplus_slots

pool_energyplus_slots()  # a finished variant hands its `energyplus` slot to the next one


def _retry_if_transient(task: Task[..., Any], run: TaskRun, state: State[Any]) -> bool:
    """Retry a killed, timed-out or output-less engine; never a model that fails by itself."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, VariantFailed) and error.result.retryable


def _content_key(context: Any, parameters: dict[str, Any]) -> str:
    return str(parameters["variant"].cache_key)


class CachedResultGone(RuntimeError):
    """The cached result seen when the batch was planned disappeared before it was read."""


@contextmanager
def _engine(batch_id: str, variant_id: str) -> Iterator[None]:
    """One engine of the batch: it holds the task run's slot, counted in the progress."""
    with lease_pool().engine(), engine_running(batch_id, variant_id):
        yield


VARIANT_TAG = "variant"  # every variant's task run, simulated or cached


@task(
    name="run-single-variant",
    tags=["energyplus", VARIANT_TAG],
    task_run_name="{variant.variant_id}",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_if_transient,
    cache_key_fn=_content_key,
    persist_result=True,
)
def run_single_variant(variant: Variant, options: RunOptions) -> VariantResult:
    """Simulate one variant; a failed simulation raises ``VariantFailed`` carrying its record."""
    engine = partial(_engine, options.batch_id, variant.variant_id)
    result = head_start.claim(variant, engine) or simulate_variant(variant, options, engine)
    logger = get_run_logger()
    if result.status == "failed":
        logger.error("%s", outcome_line(result))
        raise VariantFailed(result)
    logger.info("%s", outcome_line(result))
    return result


@task(
    name="reuse-cached-variant",
    tags=[VARIANT_TAG],
    task_run_name="{variant.variant_id}",
    cache_key_fn=_content_key,
    persist_result=True,
)
def reuse_cached_variant(variant: Variant, options: RunOptions) -> VariantResult:
    """A variant already in the cache: finishes ``Cached`` without taking an ``energyplus``
    slot. The body only runs if the cached result vanished meanwhile, and never simulates."""
    raise CachedResultGone(f"{variant.variant_id}: cached result gone; simulating it again")
