"""Check a study's files before any run: every problem of the study, its files and its
models in one ``StudyError``."""

import glob
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from epbatch.run.engine import Engine
from epbatch.study.spec import Study, StudyError, StudyFile, variant_count_problem
from epbatch.variants.generate import class_problems, forget_parse, parsed_for_check
from epbatch.variants.idfcheck import engine_check
from epbatch.variants.idfmodel import ModelError, use_idd
from epbatch.variants.parameters import Target, model_problems, resolve
from epbatch.variants.preprocess import ModelInput, ModelRefused, prepare_input


@dataclass(frozen=True)
class Inputs:
    """A valid study with its models (prepared, checked) and weather files."""

    study: Study
    models: list[ModelInput]
    weather: list[Path]


def _load_idd(idd: Path) -> None:
    with suppress(ModelError):  # eppy holds another engine's IDD: the model parse says so
        use_idd(idd)


Problems = list[tuple[int, str]]  # (index in `models`, line): sorted by the entry they name


def _resolve_models(
    entries: list[tuple[int, str]], base: Path
) -> tuple[list[tuple[int, Path]], Problems]:
    found: list[tuple[int, Path]] = []
    problems: Problems = []
    for i, pattern in entries:
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
        found += [(i, p.resolve()) for p in matches if p.is_file()]
    return found, problems


def _prepared(path: Path, engine: Engine, cache_dir: Path) -> ModelInput | str:
    try:
        return prepare_input(path, engine, cache_dir)
    except ModelRefused as refused:
        return str(refused)


def _accepted(model: ModelInput, problem: str | None) -> ModelInput | str:
    """The model, or why the engine's input check rejects it."""
    if problem and model.steps:
        return f"{problem} (in the IDF prepared from it: {model.idf})"
    return problem or model


def _parse_early(model: ModelInput, idd: Path) -> None:
    """eppy's parse of a model (kept for the plan) while the engine checks it: a subprocess,
    so the parse has the other core. A model eppy cannot read is reported later."""
    with suppress(ModelError):
        parsed_for_check(model, idd)


def _check_models(
    found: list[tuple[int, Path]], engine: Engine, cache_dir: Path
) -> tuple[list[ModelInput], Problems]:
    """Each model once: prepared, then the engine's input checks (subprocesses) in parallel
    while this thread parses the models with eppy."""
    unique = list(dict.fromkeys(path for _, path in found))
    with ThreadPoolExecutor(max_workers=max(1, min(len(unique), os.cpu_count() or 1))) as pool:
        prepare: Callable[[Path], ModelInput | str] = lambda p: _prepared(p, engine, cache_dir)  # noqa: E731
        outcome = dict(zip(unique, pool.map(prepare, unique), strict=True))
        checks = {
            path: pool.submit(engine_check, model.idf, engine, cache_dir)
            for path, model in outcome.items()
            if isinstance(model, ModelInput)
        }
        for path in checks:
            _parse_early(cast(ModelInput, outcome[path]), engine.idd)
        for path, check in checks.items():
            model = cast(ModelInput, outcome[path])
            outcome[path] = _accepted(model, check.result())
            if isinstance(outcome[path], str):
                forget_parse(model)
    models: dict[Path, ModelInput] = {}  # each file once, whichever entries name it
    problems: Problems = []
    for i, path in found:
        result = outcome[path]
        if isinstance(result, str):
            problems.append((i, f"models.{i}: {path}: {result}"))
        else:
            models.setdefault(path, result)
    return list(models.values()), problems


def _resolve_weather(
    entries: list[tuple[int, str]], base: Path, engine: Engine
) -> tuple[list[Path], list[str]]:
    found: list[Path] = []
    problems: list[str] = []
    for i, name in entries:
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


def _class_problems(study: Study, models: list[ModelInput], engine: Engine) -> list[str]:
    """Construction sets that change nothing in a model (or a model eppy cannot read), and
    parameters the engine's IDD or a model refuses."""
    problems: list[str] = []
    targets: list[Target] = []
    if study.parameters:
        try:
            use_idd(engine.idd)
            targets, idd_problems = resolve(study)
            problems += idd_problems
        except ModelError as error:  # eppy holds another engine's IDD
            problems.append(f"parameters: {error}")
    for model in models:
        try:
            idf = parsed_for_check(model, engine.idd)
        except ModelError as error:  # eppy could not parse it
            problems.append(str(error))
            continue
        problems += class_problems(study, model, idf)
        problems += model_problems(targets, idf, model.source.name)
    if study.parameters and models:  # the schema check counted entries; now the files
        weather = len(study.weather)
        count = variant_count_problem(study, len(models), weather)
        problems += [count] if count else []
    return problems


def check_inputs(study_file: StudyFile, engine: Engine, cache_dir: Path) -> Inputs:
    """The study's inputs, or one ``StudyError`` naming every problem: the schema's, the
    files', the models' (refused, rejected by the engine) and the construction sets'."""
    base = study_file.path.resolve().parent
    # eppy's IDD (0.1 s from its pickle, ~1.5 s the first time) loads while the engine checks
    threading.Thread(target=_load_idd, args=(engine.idd,), daemon=True).start()
    found, file_problems = _resolve_models(study_file.models, base)
    weather, weather_problems = _resolve_weather(study_file.weather, base, engine)
    models, model_problems = _check_models(found, engine, cache_dir)
    by_entry = [line for _, line in sorted(file_problems + model_problems, key=lambda p: p[0])]
    problems = study_file.problems + by_entry + weather_problems
    if study_file.study is not None:
        problems += _class_problems(study_file.study, models, engine)
    if problems:
        raise StudyError(study_file.path, list(dict.fromkeys(problems)))
    return Inputs(study_file.valid(), models, weather)
