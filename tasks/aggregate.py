"""The batch's closing task: store every variant's outcome."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from epbatch.results.records import VariantResult
from epbatch.variants.plan import BatchPlan, BatchSummary


@task(name="aggregate-batch-results", cache_policy=NO_CACHE)
def aggregate_batch_results(
    plan: BatchPlan, results: list[VariantResult], database_url: str
) -> BatchSummary:
    """Write batch, variant and result rows in one transaction, plus Parquet and CSV."""
    from epbatch.store.aggregate import record_batch  # see flows/batch.py: loaded while engines run

    return record_batch(plan, results, database_url)
