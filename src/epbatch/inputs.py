"""Resolve the model and weather files a study names, and check them before any run."""

import glob
from pathlib import Path

from epbatch.engine import Engine
from epbatch.idfcheck import model_problems
from epbatch.study import Study, StudyError


def _resolve_models(
    patterns: list[str], base: Path, engine: Engine
) -> tuple[list[Path], list[str]]:
    found: list[tuple[int, Path]] = []
    problems: list[tuple[int, str]] = []
    for i, pattern in enumerate(patterns):
        full = Path(pattern).expanduser()
        full = full if full.is_absolute() else base / full
        if glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True))
            if not matches:
                problems.append((i, f"models.{i}: no file matches {pattern!r}"))
        elif full.is_file():
            matches = [full]
        else:
            problems.append((i, f"models.{i}: model file not found: {full}"))
            matches = []
        problems += [(i, f"models.{i}: {p}: not a file") for p in matches if not p.is_file()]
        found += [(i, p) for p in matches if p.is_file()]
    rejected = model_problems([path for _, path in found], engine)  # the engine's input check
    models: list[Path] = []
    for i, path in found:
        if path in rejected:
            problems.append((i, f"models.{i}: {path}: {rejected[path]}"))
        elif path.resolve() not in models:
            models.append(path.resolve())
    return models, [message for _, message in sorted(problems, key=lambda p: p[0])]


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
    models, problems = _resolve_models(study.models, base, engine)
    weather, weather_problems = _resolve_weather(study.weather, base, engine)
    problems += weather_problems
    if problems:
        raise StudyError(study_file, problems)
    return models, weather
