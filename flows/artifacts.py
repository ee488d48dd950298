"""Batch progress in the Prefect UI: one progress artifact, updated in place, and the results.

The progress artifact (its percentage, and a description with the counts, the ETA, each
slot's variant and the server's ``energyplus`` slots by batch) is created when the flow
starts, then updated by id, never created again: on a timer (``REFRESH_S``), and soon after
each change (a variant ends, an engine starts), so that the next engine of a slot is counted
before the snapshot is sent.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import ArtifactUpdate
from prefect.context import FlowRunContext

from epbatch.ops.progress import BatchProgress, progress_markdown, subscribe
from epbatch.results.records import VariantResult, table_rows
from epbatch.results.sensitivity import read_sensitivity
from epbatch.variants.generate import slug
from flows.holders import NotFound, Request, server_slots

REFRESH_S = 10.0  # elapsed time, running times and the ETA move on between changes
SETTLE_S = 0.5  # after a change: a slot's next engine starts ~0.1-0.2 s after one ends
# At most one update per 5 s, whatever the batch does: each is ~5 API calls, ~60 ms of the
# server's CPU (every 2 s, 1.5 s of server CPU for a 50-s batch, beside the engines).
MIN_GAP_S = 5.0


def _client_request(client: SyncPrefectClient) -> Request:
    """``flows.holders`` requests through the Prefect client's own HTTP client (the API's
    address, auth and headers)."""

    def request(method: str, path: str, body: dict[str, Any] | None) -> Any:
        try:
            answer = client._client.request(method, path, json=body)
            answer.raise_for_status()
        except httpx.HTTPStatusError as error:
            if error.response.status_code == 404:
                raise NotFound(path) from None
            raise
        return answer.json()

    return request


class UiProgress:
    """Mirrors a ``BatchProgress`` into one progress artifact of the current flow run."""

    def __init__(self, progress: BatchProgress, flow_run_name: str | None = None) -> None:
        """Creates the artifact now; ``flow_run_name`` replaces Prefect's random name
        ("foamy-wallaby") from the timer's thread, not before the first engine starts."""
        self.progress = progress
        self.flow_run_name = flow_run_name
        context = FlowRunContext.get()  # contexts do not follow the timer into its thread
        self.flow_run_id = context.flow_run.id if context and context.flow_run else None
        self.key = slug(progress.batch_id)
        artifact_id = create_progress_artifact(
            0.0, key=f"{self.key}-progress", description=progress_markdown(progress.snapshot())
        )
        assert isinstance(artifact_id, UUID)  # the sync API, called outside an event loop
        self.artifact_id = artifact_id
        self._client = get_client(sync_client=True)
        self._client.__enter__()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._unsubscribe = subscribe(self._on_publish)
        self._thread = threading.Thread(target=self._refresh, name="epbatch-ui", daemon=True)
        self._thread.start()

    def _on_publish(self, progress: BatchProgress) -> None:
        if progress is self.progress:
            self._changed.set()

    def _name_flow_run(self) -> None:
        if self.flow_run_name and self.flow_run_id:
            with contextlib.suppress(Exception):  # a failed call leaves the random name
                self._client.update_flow_run(self.flow_run_id, name=self.flow_run_name)

    def _refresh(self) -> None:
        self._name_flow_run()
        last = 0.0
        while not self._stop.is_set():
            if self._changed.wait(REFRESH_S):
                self._stop.wait(max(SETTLE_S, MIN_GAP_S - (time.monotonic() - last)))
            if self._stop.is_set():
                return
            self._changed.clear()
            last = time.monotonic()
            self.update()

    def update(self) -> None:
        """Send the current snapshot; a failed call is left to the next one."""
        snapshot = self.progress.snapshot()
        markdown = progress_markdown(snapshot, server_slots(_client_request(self._client)))
        percent = 100.0 * snapshot["done"] / snapshot["total"] if snapshot["total"] else 100.0
        with contextlib.suppress(Exception):  # the UI lags behind; the batch goes on
            self._client.update_artifact(
                self.artifact_id, ArtifactUpdate(data=percent, description=markdown)
            )

    def close(self) -> None:
        """Stop the timer and send the last snapshot (once; the batch may have raised)."""
        if self._stop.is_set():
            return
        self._unsubscribe()
        self._stop.set()
        self._thread.join()
        self.update()
        self._client.__exit__(None, None, None)

    def finish(
        self,
        results: list[VariantResult],
        parameters: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """The last progress update and the results table (with each variant's parameter
        values, by variant id)."""
        self.close()
        create_table_artifact(
            table_rows(results, parameters),
            key=f"{self.key}-results",
            description=f"results of batch `{self.progress.batch_id}`",
        )

    def report(self, folder: Path) -> None:
        """The batch report's key charts (EUI, savings; SVG as data URIs) and the savings table,
        beside the results table; a report that cannot be made is logged, not raised. Called
        right after report.html was written: its read of the folder and its charts are reused."""
        from epbatch.report.html import report_markdown  # pandas: not at the flow's start

        try:
            markdown = report_markdown(folder)
            create_markdown_artifact(
                markdown,
                key=f"{self.key}-report",
                description=f"report of batch `{self.progress.batch_id}` (charts, savings)",
            )
        except Exception as error:
            logging.getLogger("epbatch").warning("no report artifact: %s", error)


def publish_sensitivity(batch_id: str, folder: Path) -> None:
    """The batch's ``sensitivity.csv`` as a table artifact, ranked (none when absent)."""
    rows = read_sensitivity(folder)
    if rows:
        create_table_artifact(
            rows,
            key=f"{slug(batch_id)}-sensitivity",
            description=f"sensitivity of batch `{batch_id}`: rank 1 matters most "
            "(Morris by mu*, Sobol by ST; per output)",
        )
