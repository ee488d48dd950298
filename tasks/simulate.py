"""The per-variant task: one task run = one EnergyPlus process = one ``energyplus`` slot."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from epbatch.results import VariantResult
from epbatch.simulate import RunOptions, simulate_variant
from epbatch.variants import Variant


@task(
    name="run-single-variant",
    tags=["energyplus"],
    cache_policy=NO_CACHE,
    task_run_name="{variant.variant_id}",
)
def run_single_variant(variant: Variant, options: RunOptions) -> VariantResult:
    """Simulate one variant; a failed simulation comes back as a failed record."""
    return simulate_variant(variant, options)
