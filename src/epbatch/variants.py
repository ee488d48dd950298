"""Expand a study into variants (models x construction sets x weather) and write their IDFs."""

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from epbatch.engine import Engine
from epbatch.envelope import construction_set_applied, left_alone, set_notes, surfaces_of_class
from epbatch.idfmodel import (
    ModelError,
    idf_text,
    load_model,
    request_sql_output,
    set_run_period,
    skip_unkept_outputs,
)
from epbatch.settings import KeepOutputs
from epbatch.study import DateRange, Study, StudyError


@dataclass(frozen=True)
class Variant:
    """One simulation: a generated IDF in its own folder, run against one weather file."""

    variant_id: str
    model: str
    weather: str
    construction_set: str
    folder: Path
    epw: Path
    content_key: str  # same inputs, same engine, same options: same result

    @property
    def idf(self) -> Path:
        return self.folder / "in.idf"


def slug(text: str) -> str:
    """A lower-case, folder-safe form of ``text``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def variant_ids(models: list[Path], sets: list[str], weather: list[Path]) -> Iterator[str]:
    """Stable, readable ids, ``model__set__weather``, unique even when stems collide."""
    seen: dict[str, int] = {}
    for model in models:
        for cset in sets:
            for epw in weather:
                base = f"{slug(model.stem)}__{slug(cset)}__{slug(epw.stem)}"
                seen[base] = seen.get(base, 0) + 1
                yield base if seen[base] == 1 else f"{base}-{seen[base]}"


def content_key(idf_text: str, weather_digest: str, engine_version: str, run_period: object) -> str:
    """A digest of everything a simulation's result depends on."""
    digest = hashlib.sha256(idf_text.encode("latin-1"))
    digest.update(f"|{weather_digest}|{engine_version}|{run_period!r}".encode())
    return digest.hexdigest()


def _check_classes(study: Study, model: Path, idf: object) -> list[str]:
    problems = []
    for name, cset in study.construction_sets.items():
        for surface_class in cset.classes():
            if not surfaces_of_class(idf, surface_class):
                kept = "; ".join(left_alone(idf, surface_class))
                problems.append(
                    f"construction_sets.{name}.{surface_class}: model {model} has no "
                    f"{surface_class.replace('_', ' ')} surfaces"
                    + (f" (only {kept}, which sets leave alone)" if kept else "")
                )
    return problems


def envelope_notes(study: Study, prepared: list[tuple[Path, Any]]) -> list[str]:
    """What each construction set leaves as a model has it, one line per fact."""
    return [
        f"model {model.name}: {note} by set {name!r}"
        for model, idf in prepared
        for name, cset in study.construction_sets.items()
        for note in set_notes(idf, cset)
    ]


def prepare_models(
    study: Study,
    study_file: Path,
    models: list[Path],
    engine: Engine,
    keep_outputs: KeepOutputs = "sql-err",
) -> list[tuple[Path, Any]]:
    """Parse and check every model, and request the outputs (only those ``keep_outputs``
    keeps, unless it is ``all``): all errors before any run."""
    prepared = []
    for model in models:
        try:
            idf = load_model(model, engine.idd)
        except ModelError as error:
            raise StudyError(study_file, [str(error)]) from None
        problems = _check_classes(study, model, idf)
        if problems:
            raise StudyError(study_file, problems)
        request_sql_output(idf)
        if keep_outputs != "all":
            skip_unkept_outputs(idf)
        if study.run_period != "design-days":
            set_run_period(
                idf, study.run_period if isinstance(study.run_period, DateRange) else None
            )
        prepared.append((model, idf))
    return prepared


def iter_variants(
    study: Study,
    prepared: list[tuple[Path, Any]],
    weather: list[Path],
    engine: Engine,
    variants_dir: Path,
) -> Iterator[Variant]:
    """Apply each construction set to each parsed model and write one folder per variant.

    A generator, so simulations can start while later variants are still being written.
    """
    sets = list(study.construction_sets)
    ids = variant_ids([model for model, _ in prepared], sets, weather)
    weather_digests = {epw: hashlib.sha256(epw.read_bytes()).hexdigest() for epw in weather}
    for model, idf in prepared:
        for name in sets:
            with construction_set_applied(idf, study.construction_sets[name]):
                text = idf_text(idf)
            for epw in weather:
                vid = next(ids)
                key = content_key(text, weather_digests[epw], engine.version, study.run_period)
                variant = Variant(vid, model.name, epw.name, name, variants_dir / vid, epw, key)
                variant.folder.mkdir(parents=True, exist_ok=True)
                variant.idf.write_text(text, encoding="latin-1")
                yield variant


def generate_variants(
    study: Study,
    study_file: Path,
    models: list[Path],
    weather: list[Path],
    engine: Engine,
    variants_dir: Path,
    keep_outputs: KeepOutputs = "sql-err",
) -> list[Variant]:
    """Every variant at once (see ``iter_variants`` for the streaming form)."""
    prepared = prepare_models(study, study_file, models, engine, keep_outputs)
    return list(iter_variants(study, prepared, weather, engine, variants_dir))


class VariantStream(Sequence[Variant]):
    """The batch's variants, written on first iteration and remembered after."""

    def __init__(self, total: int, source: Iterator[Variant]) -> None:
        self.total, self._source, self._made = total, source, list[Variant]()

    def __len__(self) -> int:
        return self.total

    def __iter__(self) -> Iterator[Variant]:
        yield from self._made
        for variant in self._source:
            self._made.append(variant)
            yield variant

    @overload
    def __getitem__(self, index: int) -> Variant: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Variant]: ...
    def __getitem__(self, index: int | slice) -> Variant | Sequence[Variant]:
        return list(self)[index]
