"""Expand a study into variants (models x construction sets x weather) and write their IDFs."""

import hashlib
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from epbatch.run.engine import Engine
from epbatch.settings import KeepOutputs
from epbatch.study.spec import DateRange, Study
from epbatch.variants.envelope import (
    construction_set_applied,
    left_alone,
    set_notes,
    surfaces_of_class,
)
from epbatch.variants.idfmodel import (
    idf_text,
    load_model,
    request_sql_output,
    request_timeseries,
    set_run_period,
    skip_unkept_outputs,
)
from epbatch.variants.parameters import Target, parameters_applied, resolve
from epbatch.variants.preprocess import ModelInput
from epbatch.variants.sampling import Samples, draw_samples


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
    sample_id: str | None = None  # the parameter sample it uses (studies with parameters)

    @property
    def idf(self) -> Path:
        return self.folder / "in.idf"

    @property
    def cache_key(self) -> str:
        """The key of its result in Prefect's result store (a digest of its inputs)."""
        return f"epbatch-{self.content_key}"


def slug(text: str) -> str:
    """A lower-case, folder-safe form of ``text``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def variant_ids(
    models: list[Path],
    sets: list[str],
    weather: list[Path],
    samples: Sequence[str | None] = (None,),
) -> Iterator[str]:
    """Stable, readable ids, ``model__set__weather`` (``model__set__weather__p0007`` in a study
    with parameters), unique even when stems collide; models x sets x samples x weather."""
    seen: dict[str, int] = {}
    for model in models:
        for cset in sets:
            for sample in samples:
                for epw in weather:
                    base = f"{slug(model.stem)}__{slug(cset)}__{slug(epw.stem)}"
                    base += f"__{sample}" if sample else ""
                    seen[base] = seen.get(base, 0) + 1
                    yield base if seen[base] == 1 else f"{base}-{seen[base]}"


@dataclass(frozen=True)
class VariantName:
    """What names a variant before its IDF is written (a skipped variant never gets one)."""

    variant_id: str
    model: str
    weather: str
    construction_set: str
    sample_id: str | None = None


def variant_names(
    models: list[Path],
    sets: list[str],
    weather: list[Path],
    samples: Sequence[str | None] = (None,),
) -> list[VariantName]:
    """Every variant's name, in ``iter_variants``' order, without writing anything."""
    ids = variant_ids(models, sets, weather, samples)
    return [
        VariantName(next(ids), m.name, w.name, s, p)
        for m in models
        for s in sets
        for p in samples
        for w in weather
    ]


def content_key(idf_text: str, weather_digest: str, engine_version: str, run_period: object) -> str:
    """A digest of everything a simulation's result depends on."""
    digest = hashlib.sha256(idf_text.encode("latin-1"))
    digest.update(f"|{weather_digest}|{engine_version}|{run_period!r}".encode())
    return digest.hexdigest()


def class_problems(study: Study, model: ModelInput, idf: Any) -> list[str]:
    """Construction sets whose surface classes ``model`` does not have (they change nothing)."""
    problems = []
    for name, cset in study.construction_sets.items():
        for surface_class in cset.classes():
            if not surfaces_of_class(idf, surface_class):
                kept = "; ".join(left_alone(idf, surface_class))
                problems.append(
                    f"construction_sets.{name}.{surface_class}: model {model.source} has no "
                    f"{surface_class.replace('_', ' ')} surfaces"
                    + (f" (only {kept}, which sets leave alone)" if kept else "")
                )
    return problems


# Models parsed by the check, handed to ``prepare_models`` in the same process: eppy takes
# ~0.6 s to parse a 5-zone model, and ``epbatch run`` checks before its flow plans.
_parsed: dict[tuple[str, int, int], Any] = {}


def _parse_key(model: ModelInput) -> tuple[str, int, int]:
    stat = model.idf.stat()
    return str(model.idf), stat.st_size, stat.st_mtime_ns


def parsed_for_check(model: ModelInput, idd: Path) -> Any:
    """The parsed model, kept for this process's next ``prepare_models``; raises
    ``ModelError``."""
    key = _parse_key(model)
    if key not in _parsed:
        _parsed[key] = load_model(model.idf, idd)
    return _parsed[key]


def forget_parse(model: ModelInput) -> None:
    """Drop the check's parse of a model that will not run."""
    _parsed.pop(_parse_key(model), None)


def envelope_notes(study: Study, prepared: list[tuple[ModelInput, Any]]) -> list[str]:
    """What each construction set leaves as a model has it, one line per fact."""
    return [
        f"model {model.source.name}: {note} by set {name!r}"
        for model, idf in prepared
        for name, cset in study.construction_sets.items()
        for note in set_notes(idf, cset)
    ]


def prepare_models(
    study: Study,
    models: list[ModelInput],
    engine: Engine,
    keep_outputs: KeepOutputs = "sql-err",
) -> list[tuple[ModelInput, Any]]:
    """Parse every checked model (or take the check's parse) and request the outputs (only
    those ``keep_outputs`` keeps, unless it is ``all``) and the run period."""
    prepared = []
    for model in models:
        idf = _parsed.pop(_parse_key(model), None) or load_model(model.idf, engine.idd)
        request_sql_output(idf)
        if study.timeseries:  # in the IDF text, so in each variant's cache key too
            request_timeseries(idf, study.timeseries)
        if keep_outputs != "all":
            skip_unkept_outputs(idf)
        if study.run_period != "design-days":
            set_run_period(
                idf, study.run_period if isinstance(study.run_period, DateRange) else None
            )
        prepared.append((model, idf))
    return prepared


def _sample_texts(
    idf: Any, targets: list[Target], samples: Samples | None
) -> Iterator[tuple[str | None, str]]:
    """The model's IDF text for each sample (its id), or once as it is without parameters."""
    if samples is None:
        yield None, idf_text(idf)
        return
    for sid, values in zip(samples.ids, samples.values, strict=True):
        with parameters_applied(idf, targets, values):
            yield sid, idf_text(idf)


def iter_variants(
    study: Study,
    prepared: list[tuple[ModelInput, Any]],
    weather: list[Path],
    engine: Engine,
    variants_dir: Path,
    samples: Samples | None = None,
    targets: list[Target] | None = None,
) -> Iterator[Variant]:
    """Apply each construction set, then each parameter sample, to each parsed model and
    write one folder per variant.

    A generator, so simulations can start while later variants are still being written.
    """
    sets = list(study.construction_sets)
    sample_ids = list(samples.ids) if samples else [None]
    ids = variant_ids([model.source for model, _ in prepared], sets, weather, sample_ids)
    weather_digests = {epw: hashlib.sha256(epw.read_bytes()).hexdigest() for epw in weather}
    for model, idf in prepared:
        for name in sets:
            with construction_set_applied(idf, study.construction_sets[name]):
                for sid, text in _sample_texts(idf, targets or [], samples):
                    for epw in weather:
                        vid = next(ids)
                        key = content_key(
                            text, weather_digests[epw], engine.version, study.run_period
                        )
                        folder = variants_dir / vid
                        variant = Variant(
                            vid, model.source.name, epw.name, name, folder, epw, key, sid
                        )
                        variant.folder.mkdir(parents=True, exist_ok=True)
                        variant.idf.write_text(text, encoding="latin-1")
                        yield variant


def generate_variants(
    study: Study,
    models: list[ModelInput],
    weather: list[Path],
    engine: Engine,
    variants_dir: Path,
    keep_outputs: KeepOutputs = "sql-err",
) -> list[Variant]:
    """Every variant at once (see ``iter_variants`` for the streaming form)."""
    prepared = prepare_models(study, models, engine, keep_outputs)
    targets, samples = parameter_plan(study)
    return list(iter_variants(study, prepared, weather, engine, variants_dir, samples, targets))


def parameter_plan(study: Study) -> tuple[list[Target], Samples | None]:
    """The parameters resolved against the IDD (loaded: a model was parsed) and the samples;
    raises ``ValueError`` for problems the input check reports (it ran before)."""
    if not study.parameters:
        return [], None
    targets, problems = resolve(study)
    if problems:
        raise ValueError("; ".join(problems))
    integer = [t.key for t in targets if t.spec.kind == "integer"]
    return targets, draw_samples(study, integer)


class VariantStream(Sequence[Variant]):
    """The batch's variants, written on first iteration and remembered after; ``names`` lists
    them all (in order) from the start."""

    def __init__(self, names: list[VariantName], source: Iterator[Variant]) -> None:
        self.names, self._source, self._made = names, source, list[Variant]()
        self._lock = threading.Lock()  # a head start and the flow may iterate at once

    def __len__(self) -> int:
        return len(self.names)

    def unwritten(self) -> list[VariantName]:
        """The variants no iteration has reached yet: no folder, no IDF."""
        made = {variant.variant_id for variant in self._made}
        return [name for name in self.names if name.variant_id not in made]

    def __iter__(self) -> Iterator[Variant]:
        """Every variant in order, written when first reached; safe from several threads."""
        index = 0
        while True:
            with self._lock:
                if index == len(self._made):
                    variant = next(self._source, None)
                    if variant is None:
                        return
                    self._made.append(variant)
                variant = self._made[index]
            index += 1
            yield variant

    @overload
    def __getitem__(self, index: int) -> Variant: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Variant]: ...
    def __getitem__(self, index: int | slice) -> Variant | Sequence[Variant]:
        return list(self)[index]
