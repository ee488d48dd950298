"""The per-variant task: one task run = one EnergyPlus process = one ``energyplus`` slot."""

from typing import Any

from prefect import Task, task
from prefect.client.schemas.objects import State, TaskRun

from epbatch.progress import engine_running
from epbatch.results import VariantResult
from epbatch.simulate import RunOptions, VariantFailed, simulate_variant
from epbatch.variants import Variant


def _retry_if_transient(task: Task[..., Any], run: TaskRun, state: State[Any]) -> bool:
    """Retry a killed, timed-out or output-less engine; never a model that fails by itself."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, VariantFailed) and error.result.retryable


def _content_key(context: Any, parameters: dict[str, Any]) -> str:
    variant: Variant = parameters["variant"]
    return f"epbatch-{variant.content_key}"


@task(
    name="run-single-variant",
    tags=["energyplus"],
    task_run_name="{variant.variant_id}",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_condition_fn=_retry_if_transient,
    cache_key_fn=_content_key,
    persist_result=True,
)
def run_single_variant(variant: Variant, options: RunOptions) -> VariantResult:
    """Simulate one variant; a failed simulation raises ``VariantFailed`` carrying its record."""
    with engine_running(options.batch_id):
        result = simulate_variant(variant, options)
    if result.status == "failed":
        raise VariantFailed(result)
    return result
