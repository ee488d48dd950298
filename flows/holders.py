"""Who holds the server's ``energyplus`` slots: the batch (flow run) of each holding task run.

In Prefect 3.8.8 the limit is the global concurrency limit ``tag:energyplus``; its slots are
leases, and the tag's V1 view (``/concurrency_limits/tag/energyplus``) lists the task runs that
hold them (``tasks/slots.py`` takes them for ``run-single-variant`` task runs). Plain JSON over
HTTP and no Prefect import, so ``epbatch status`` asks without loading Prefect (~1.2 s).
"""

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

from epbatch.ops.progress import ServerSlots

TAG = "energyplus"
# (method, path under the API URL, JSON body or None) -> the answer's JSON; raises NotFound
Request = Callable[[str, str, dict[str, Any] | None], Any]


class NotFound(Exception):
    """The API answered 404."""


def server_slots(request: Request) -> ServerSlots | None:
    """The limit, its slots in use and the holders by flow run name; ``None`` if the server
    does not answer as expected (a status or a progress card then says nothing of it)."""
    try:
        try:
            limit = request("GET", f"/v2/concurrency_limits/tag:{TAG}", None)
        except NotFound:
            return ServerSlots(None, 0, {})
        task_run_ids = request("GET", f"/concurrency_limits/tag/{TAG}", None)["active_slots"]
        flow_of = _by_id(request, "task_runs", task_run_ids, "flow_run_id")
        name_of = _by_id(request, "flow_runs", set(flow_of.values()), "name")
        held = Counter(name_of[flow_of[t]] for t in task_run_ids if flow_of.get(t) in name_of)
        return ServerSlots(int(limit["limit"]), int(limit["active_slots"]), dict(held))
    except Exception:  # away, or an API of another shape: nothing rather than a failure
        return None


def _by_id(request: Request, kind: str, ids: Any, field: str) -> dict[str, Any]:
    """``{id: field}`` of the task or flow runs ``ids`` (one filter call)."""
    if not ids:
        return {}
    found = request("POST", f"/{kind}/filter", {kind: {"id": {"any_": sorted(ids)}}})
    return {run["id"]: run[field] for run in found}


def http_request(api_url: str, timeout_s: float = 1.0) -> Request:
    """Requests to ``api_url`` with urllib (``epbatch status``: no Prefect, no httpx)."""

    def request(method: str, path: str, body: dict[str, Any] | None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        call = urllib.request.Request(  # noqa: S310 - the user's Prefect API URL
            api_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(call, timeout=timeout_s) as answer:  # noqa: S310
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise NotFound(path) from None
            raise

    return request
