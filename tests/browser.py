"""Debian's headless Chromium driven over the DevTools protocol (one page, plain websockets).

Chromium runs with a new profile folder and without anything that would call out (the network
here is closed: without these flags it hangs at start). ``text()`` is what a user reads on the
page (``document.body.innerText``), after the UI's scripts have run.
"""

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import connect
from websockets.sync.connection import Connection

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",  # as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",  # Chromium picks one: DevToolsActivePort in the profile
]


class Page:
    """The one tab of a Chromium process."""

    def __init__(self, socket: Connection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command and its result (events in between are skipped)."""
        number = next(self._ids)
        self._socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer["result"].get("value")

    def text(self) -> str:
        return str(self.evaluate("document.body ? document.body.innerText : ''"))

    def wait_for(self, ready: Callable[[str], bool], timeout_s: float = 120) -> str:
        """The page's text once ``ready`` says so; fails with the last text seen."""
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.text()
            if ready(text):
                return text
            assert time.monotonic() < deadline, f"not shown after {timeout_s} s:\n{text}"
            time.sleep(0.5)

    def click(self, label: str) -> None:
        """Click the innermost element whose text is ``label`` (a tab, a link, a button)."""
        found = self.evaluate(
            "(() => { const label = " + json.dumps(label) + ";"
            " const hits = [...document.body.querySelectorAll('*')]"
            "   .filter(e => e.innerText && e.innerText.trim() === label);"
            " if (!hits.length) return false; hits[hits.length - 1].click(); return true; })()"
        )
        assert found, f"no {label!r} to click in:\n{self.text()}"

    def screenshot(self, path: Path) -> None:
        """A PNG of the window as it is (the UI scrolls inside its own panes; a capture
        beyond the window resizes it, and the UI then redraws its lists blank)."""
        data = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(data["data"]))


def _devtools_port(profile: Path, process: subprocess.Popen[bytes], timeout_s: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout_s
    while not marker.is_file() or not marker.read_text().strip():
        assert process.poll() is None, f"chromium exited with {process.returncode}"
        assert time.monotonic() < deadline, f"chromium wrote no {marker.name} in {timeout_s} s"
        time.sleep(0.2)
    return int(marker.read_text().split()[0])


@contextmanager
def chromium(folder: Path, width: int = 1400, height: int = 1050) -> Iterator[Page]:
    """A headless Chromium with its profile and log in ``folder``; its page."""
    profile = folder / "chromium-profile"
    profile.mkdir(parents=True)
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
    with (folder / "chromium.log").open("wb") as log:
        process = subprocess.Popen([*command, "about:blank"], stdout=log, stderr=log)
    try:
        port = _devtools_port(profile, process, timeout_s=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            [tab] = [t for t in json.loads(answer.read()) if t["type"] == "page"]
        with connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as socket:
            page = Page(socket)
            page.call("Page.enable")
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
