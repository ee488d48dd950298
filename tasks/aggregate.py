"""The batch's closing task: store every variant's outcome."""

from prefect import task
from prefect.cache_policies import NO_CACHE

from epbatch.batch import BatchPlan, BatchSummary, record_batch
from epbatch.results import VariantResult


@task(name="aggregate-batch-results", cache_policy=NO_CACHE)
def aggregate_batch_results(
    plan: BatchPlan, results: list[VariantResult], database_url: str
) -> BatchSummary:
    """Write batch, variant and result rows in one transaction, plus Parquet and CSV."""
    return record_batch(plan, results, database_url)
