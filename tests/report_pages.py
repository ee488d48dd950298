"""Reading back what report.html shows: its sections and the cells of its tables."""

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

SECTIONS = ["summary", "eui", "savings", "end-uses", "unmet", "failures", "results"]


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.sections: list[str] = []
        self.svgs = 0
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "section" and named.get("id"):
            self.sections.append(str(named["id"]))
        elif tag == "svg":
            self.svgs += 1
        elif tag == "table":
            self._table = []
            self.tables[str(named.get("class") or len(self.tables))] = self._table
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def read_page(path: Path) -> _Tables:
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def table_rows(page: _Tables, name: str) -> list[dict[str, str]]:
    """The rows of the table of class ``name``, as dicts keyed by its header."""
    header, *rows = page.tables[name]
    return [dict(zip(header, row, strict=True)) for row in rows]


def two(value: object) -> str:
    """How the report writes a number."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    """Debian's Chromium, headless, offline (no background connections to hang on)."""
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
