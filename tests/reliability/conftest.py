"""The reliability tier: ``epbatch`` as a user runs it, fed bad input and faults."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from epbatch.cli import main
from epbatch.settings import get_settings
from tests.conftest import MODELS

ONE_ZONE = MODELS / "1ZoneUncontrolled.idf"


@pytest.fixture
def epbatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., tuple[int, str]]]:
    """``epbatch --output-dir <tmp>/out ARGS...`` in this process: (exit status, stderr).

    The environment the CLI sets is restored afterwards.
    """
    out = tmp_path / "out"
    monkeypatch.setenv("EPBATCH_OUTPUT_DIR", str(out))
    monkeypatch.delenv("EPBATCH_DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, str]:
        status = main(["--output-dir", str(out), *args])
        return status, capsys.readouterr().err

    yield run
    get_settings.cache_clear()


@pytest.fixture
def broken_model(tmp_path: Path) -> Callable[[str, str, str], Path]:
    """1ZoneUncontrolled.idf with ``old`` replaced by ``new``, saved as ``name``."""

    def write(name: str, old: str, new: str) -> Path:
        text = ONE_ZONE.read_text(encoding="latin-1")
        assert old in text, old
        path = tmp_path / name
        path.write_text(text.replace(old, new, 1), encoding="latin-1")
        return path

    return write
