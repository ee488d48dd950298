"""A batch before its first simulation (validate, plan, generate variants), its ``batch.json``
and its summary. Storing the results is ``aggregate.py``'s job (pandas, SQLAlchemy, Alembic)."""

import json
import os
import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from epbatch.run.engine import find_engine
from epbatch.run.runners.base import RunMode, RunnerName
from epbatch.run.simulate import RunOptions
from epbatch.settings import Settings
from epbatch.study.inputs import check_inputs
from epbatch.study.spec import Study, read_study
from epbatch.variants.generate import (
    VariantStream,
    envelope_notes,
    iter_variants,
    parameter_plan,
    prepare_models,
    slug,
    variant_names,
)
from epbatch.variants.preprocess import ModelInput
from epbatch.variants.sampling import Samples, write_samples

BATCH_FILE = "batch.json"


class StorageError(RuntimeError):
    """The database could not store a batch; its results are safe on disk."""


@dataclass(frozen=True)
class BatchInfo:
    """What ``batch.json`` holds: written when the batch is planned, completed when it ends."""

    batch_id: str
    study_name: str
    study_file: str
    folder: str
    engine_version: str
    started_at: str  # ISO 8601, UTC
    finished_at: str | None = None
    notes: list[str] | None = None  # BatchPlan.notes
    parameters: list[str] = field(default_factory=list)  # the results' parameter columns
    sampling: str | None = None  # the sampling method of a study with parameters

    def write(self) -> Path:
        """Write ``<folder>/batch.json`` atomically."""
        path = Path(self.folder) / BATCH_FILE
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(self.__dict__, indent=2), encoding="utf-8")
        os.replace(partial, path)
        return path

    @classmethod
    def read(cls, path: Path) -> "BatchInfo":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class BatchPlan:
    """Everything a batch needs before its first simulation."""

    batch_id: str
    study: Study
    study_file: Path
    folder: Path
    engine_version: str
    slots: int
    options: RunOptions
    variants: VariantStream  # written as the flow iterates it
    started_at: datetime
    notes: tuple[str, ...] = ()  # models prepared, surfaces the sets left alone: for the user
    samples: Samples | None = None  # the parameter samples (samples.parquet), if any


@dataclass(frozen=True)
class BatchSummary:
    batch_id: str
    folder: Path
    total: int
    succeeded: int
    failed: int
    database_url: str = field(repr=False)  # may hold a password
    skipped: int = 0  # never run: the batch stopped (``stop_reason``, the failure budget)
    stop_reason: str | None = None
    cached: int = 0  # of the succeeded: their outputs come from an earlier batch (``cached_from``)
    design_days: bool = False  # ran the design days only: the annual energy columns are 0

    def __str__(self) -> str:
        from epbatch.store.migrate import display_url  # Alembic loads only once a batch is stored

        skipped = f", {self.skipped} skipped ({self.stop_reason})" if self.skipped else ""
        cached = f" ({self.cached} cached)" if self.cached else ""
        return (
            f"batch {self.batch_id}: {self.succeeded} of {self.total} variants succeeded, "
            f"{self.failed} failed{skipped}{cached}; results in {self.folder} and "
            f"{display_url(self.database_url)}"
        )


def new_batch_id(study_name: str, now: datetime) -> str:
    return f"{slug(study_name)}-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def plan_batch(
    study_file: Path, settings: Settings, slots: int | None = None, runner: RunnerName | None = None
) -> BatchPlan:
    """Validate the study, its files and models; the variant IDFs are written as iterated.

    ``slots`` and ``runner`` override the study's, which override the settings'.

    Raises ``StudyError`` (naming file, key and problem) before any simulation starts.
    """
    engine = find_engine(settings.energyplus)
    inputs = check_inputs(read_study(study_file), engine, settings.cache_dir)
    study, models, weather = inputs.study, inputs.models, inputs.weather
    started = datetime.now(UTC)
    batch_id = new_batch_id(study.name, started)
    folder = (settings.output_dir / slug(study.name) / batch_id).resolve()
    prepared = prepare_models(study, models, engine, settings.keep_outputs)
    targets, samples = parameter_plan(study)
    folder.mkdir(parents=True, exist_ok=True)
    if samples is not None:
        write_samples(samples, folder)  # before any simulation
    mode: RunMode = "design-days" if study.run_period == "design-days" else "run-period"
    timeout_s = study.timeout_s or settings.timeout_s
    runner = runner or study.runner or settings.runner
    options = RunOptions(
        batch_id,
        engine.executable,
        mode,
        timeout_s,
        runner,
        settings.keep_outputs,
        tuple(study.timeseries),
    )
    plan = BatchPlan(
        batch_id,
        study,
        study_file.resolve(),
        folder,
        engine.version,
        slots or study.slots,
        options,
        VariantStream(
            variant_names(
                [m.source for m in models],
                list(study.construction_sets),
                weather,
                list(samples.ids) if samples else [None],
            ),
            iter_variants(study, prepared, weather, engine, folder / "variants", samples, targets),
        ),
        started,
        tuple(preparation_notes(models) + envelope_notes(study, prepared)),
        samples,
    )
    batch_info(plan).write()  # what `epbatch aggregate` needs to store the batch later
    return plan


_handed_over: dict[tuple[Path, int | None, str | None], BatchPlan] = {}


def hand_over(plan: BatchPlan, slots: int | None, runner: RunnerName | None) -> None:
    """Keep ``plan`` for this process's flow of the same study and options (``take_plan``):
    ``epbatch run`` plans before Prefect is up when it gives the batch a head start."""
    _handed_over[(plan.study_file, slots, runner)] = plan


def take_plan(study_file: Path, slots: int | None, runner: RunnerName | None) -> BatchPlan | None:
    """The plan handed over for this study and options, once."""
    return _handed_over.pop((study_file.resolve(), slots, runner), None)


def preparation_notes(models: list[ModelInput]) -> list[str]:
    """What it took to make each model runnable, e.g. an epJSON conversion."""
    return [f"model {m.source.name}: {step}" for m in models for step in m.steps]


def batch_info(plan: BatchPlan, finished_at: datetime | None = None) -> BatchInfo:
    """The batch's ``batch.json`` record."""
    return BatchInfo(
        plan.batch_id,
        plan.study.name,
        str(plan.study_file),
        str(plan.folder),
        plan.engine_version,
        plan.started_at.isoformat(),
        finished_at.isoformat() if finished_at else None,
        list(plan.notes),
        list(plan.samples.names) if plan.samples else [],
        plan.samples.method if plan.samples else None,
    )


def failure_message(summary: BatchSummary) -> str | None:
    """What a batch's failing final state says ("2 of 6 variants failed; results stored");
    ``None`` when every variant succeeded."""
    if summary.failed == summary.skipped == 0:
        return None
    parts = [f"{summary.failed} of {summary.total} variants failed"]
    if summary.skipped:
        parts.append(f"{summary.skipped} skipped ({summary.stop_reason})")
    return f"{', '.join(parts)}; results stored"


def flow_run_name(study_name: str, batch_id: str) -> str:
    """The batch's flow run name in the Prefect UI: its id, which starts with the study's name
    (its slug), else both."""
    return batch_id if batch_id.startswith(f"{study_name}-") else f"{study_name}: {batch_id}"
