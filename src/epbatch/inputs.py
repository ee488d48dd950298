"""Resolve the model and weather files a study names, and check them before any run."""

import glob
from pathlib import Path

from epbatch.engine import Engine
from epbatch.study import Study, StudyError


def _resolve_models(patterns: list[str], base: Path) -> tuple[list[Path], list[str]]:
    models: list[Path] = []
    problems: list[str] = []
    for i, pattern in enumerate(patterns):
        full = Path(pattern).expanduser()
        full = full if full.is_absolute() else base / full
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True))
            if not matches:
                problems.append(f"models.{i}: no file matches {pattern!r}")
        elif full.is_file():
            matches = [full]
        else:
            problems.append(f"models.{i}: model file not found: {full}")
            matches = []
        for path in matches:
            problem = _idf_problem(path)
            if problem:
                problems.append(f"models.{i}: {path}: {problem}")
            elif path.resolve() not in models:
                models.append(path.resolve())
    return models, problems


def _idf_problem(path: Path) -> str | None:
    if path.suffix.lower() != ".idf":
        return "not an IDF file (expected the .idf extension)"
    head = path.read_bytes()[:200_000]
    if b"\0" in head:
        return "not an IDF file (binary content)"
    if b"version" not in head.lower():
        return "not an IDF file (no Version object)"
    return None


def _resolve_weather(names: list[str], base: Path, engine: Engine) -> tuple[list[Path], list[str]]:
    found: list[Path] = []
    problems: list[str] = []
    for i, name in enumerate(names):
        given = Path(name).expanduser()
        candidates = [given] if given.is_absolute() else [base / given]
        if given.name == name:  # a bare name may also be one the engine bundles
            candidates.append(engine.weather_dir / name)
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            where = " or ".join(str(c) for c in candidates)
            problems.append(f"weather.{i}: weather file not found: {where}")
            continue
        with path.open("rb") as handle:
            first = handle.readline(200)
        if not first.upper().startswith(b"LOCATION,"):
            problems.append(f"weather.{i}: {path}: not an EPW file (first line is not LOCATION)")
        elif path.resolve() not in found:
            found.append(path.resolve())
    return found, problems


def resolve_inputs(study: Study, study_file: Path, engine: Engine) -> tuple[list[Path], list[Path]]:
    """The study's model and weather files, or a ``StudyError`` listing every missing or bad one."""
    base = study_file.resolve().parent
    models, problems = _resolve_models(study.models, base)
    weather, weather_problems = _resolve_weather(study.weather, base, engine)
    problems += weather_problems
    if problems:
        raise StudyError(study_file, problems)
    return models, weather
