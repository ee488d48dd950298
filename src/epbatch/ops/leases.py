"""``energyplus`` slots taken through a running Prefect server's REST API, before Prefect loads.

A run reporting to a server other runs share may start its first engines before Prefect is
imported (~1.2 s) and its flow run exists, but only in slots it holds: ``take`` asks the
server's ``tag:energyplus`` limit for up to N leases at once, without waiting, and renews them
until the flow's slot pool adopts them (``hand_over``).
"""

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request

LIMIT = "tag:energyplus"
API_ERRORS = (urllib.error.URLError, OSError, ValueError)  # full (423), refused, away, not JSON
LEASE_S = 60.0  # the server takes a lease back if it is not renewed within this
RENEW_S = 15.0
TIMEOUT_S = 5.0
BUSY_RETRY_S, BUSY_TRIES = 0.1, 20
ONE_SLOT = {"names": [LIMIT], "slots": 1, "mode": "concurrency", "lease_duration": LEASE_S}


class NoLimit(Exception):
    """The server has no ``energyplus`` limit: engines need no slot there."""


class ServerLeases:
    """The leases this process holds on the server at ``api`` (a plain-HTTP Prefect API)."""

    def __init__(self, api: str) -> None:
        self.api = api.rstrip("/")
        self._held: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        request = urllib.request.Request(  # noqa: S310 - the user's own Prefect API
            f"{self.api}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            data = response.read()
        return json.loads(data) if data else {}

    def take(self, slots: int) -> list[str]:
        """Up to ``slots`` leases, as many as are free now (none if the limit is full or the
        server refuses); raises ``NoLimit`` if the server has no such limit."""
        taken: list[str] = []
        busy = 0
        while len(taken) < slots:
            try:
                answer = self._post("/v2/concurrency_limits/increment-with-lease", ONE_SLOT)
            except urllib.error.HTTPError as error:
                if error.code == 503 and busy < BUSY_TRIES:  # SQLite's "database is locked"
                    busy += 1
                    time.sleep(BUSY_RETRY_S)
                    continue
                break  # the limit is full (423), or the server refuses
            except API_ERRORS:
                break
            if not answer.get("limits"):
                self.release(taken)
                raise NoLimit
            taken.append(str(answer["lease_id"]))
        with self._lock:
            self._held += taken
        if taken:
            threading.Thread(
                target=self._renew, name="epbatch-head-start-leases", daemon=True
            ).start()
        return taken

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_S):
            with self._lock:
                held = list(self._held)
            for lease in held:  # on an error: the server is away for a moment, or took it back
                with contextlib.suppress(*API_ERRORS):
                    self._post(
                        f"/v2/concurrency_limits/leases/{lease}/renew", {"lease_duration": LEASE_S}
                    )

    def hand_over(self) -> list[str]:
        """Stop renewing: the leases are the flow's now (its slot pool renews them)."""
        self._stop.set()
        with self._lock:
            held, self._held = self._held, []
        return held

    def release(self, leases: list[str] | None = None) -> None:
        """Give ``leases`` (default: every one held) back to the server."""
        if leases is None:
            leases = self.hand_over()
        for lease in leases:  # on an error, it expires within LEASE_S
            with contextlib.suppress(*API_ERRORS):
                self._post("/v2/concurrency_limits/decrement-with-lease", {"lease_id": lease})
