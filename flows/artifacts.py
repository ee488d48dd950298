"""Batch progress in the Prefect UI: a progress artifact, a status table, the final results."""

import time
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from epbatch.progress import BatchProgress, status_lines
from epbatch.results import VariantResult
from epbatch.variants import slug

UPDATE_EVERY_S = 5.0  # 3 API calls per update


def _server_slots() -> str:
    """Busy ``energyplus`` slots across every run on the server."""
    try:
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name("tag:energyplus")
    except ObjectNotFound:
        return "no `energyplus` concurrency limit on this server"
    return f"`energyplus` slots in use on the server: {limit.active_slots} of {limit.limit}"


class UiProgress:
    """Mirrors a ``BatchProgress`` into artifacts, throttled to ``UPDATE_EVERY_S``."""

    def __init__(self, progress: BatchProgress) -> None:
        self.progress = progress
        self.key = slug(progress.batch_id)
        artifact_id = create_progress_artifact(
            0.0, key=f"{self.key}-progress", description=f"variants done, batch {progress.batch_id}"
        )
        assert isinstance(artifact_id, UUID)  # the sync API, called outside an event loop
        self.artifact_id = artifact_id
        self.last = 0.0

    def update(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < UPDATE_EVERY_S:
            return
        self.last = now
        snapshot = self.progress.snapshot()
        update_progress_artifact(self.artifact_id, 100.0 * snapshot["done"] / snapshot["total"])
        lines = [*status_lines(snapshot), _server_slots()]
        create_markdown_artifact(
            "\n\n".join(lines), key=f"{self.key}-status", description="batch status"
        )

    def finish(self, results: list[VariantResult]) -> None:
        self.update(force=True)
        create_table_artifact(
            [r.row() for r in results], key=f"{self.key}-results", description="results"
        )
