"""Store a batch's outcome: SQL rows in one transaction, and Parquet/CSV tables."""

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from epbatch.results.records import RESULT_COLUMNS, VariantResult
from epbatch.store.migrate import upgrade_engine


class Base(DeclarativeBase):
    pass


class BatchRow(Base):
    __tablename__ = "batches"

    batch_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    study_name: Mapped[str] = mapped_column(String(64))
    study_file: Mapped[str] = mapped_column(Text)
    output_dir: Mapped[str] = mapped_column(Text)
    engine_version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    n_variants: Mapped[int] = mapped_column(Integer)
    n_succeeded: Mapped[int] = mapped_column(Integer)
    n_failed: Mapped[int] = mapped_column(Integer)


class VariantRow(Base):
    __tablename__ = "variants"
    __table_args__ = (ForeignKeyConstraint(["batch_id"], ["batches.batch_id"], ondelete="CASCADE"),)

    batch_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    variant_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    model: Mapped[str] = mapped_column(Text)
    weather: Mapped[str] = mapped_column(Text)
    construction_set: Mapped[str] = mapped_column(String(64))
    sample_id: Mapped[str | None] = mapped_column(String(16))  # a study with parameters


class SampleRow(Base):
    """One parameter's value in one sample of a batch (``samples.parquet``, long form): a
    number in ``value``, or a text (a choice key, a name) in ``text``."""

    __tablename__ = "samples"
    __table_args__ = (ForeignKeyConstraint(["batch_id"], ["batches.batch_id"], ondelete="CASCADE"),)

    batch_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    sample_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    parameter: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)


class ResultRow(Base):
    __tablename__ = "results"
    __table_args__ = (
        ForeignKeyConstraint(
            ["batch_id", "variant_id"],
            ["variants.batch_id", "variants.variant_id"],
            ondelete="CASCADE",
        ),
    )

    batch_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    variant_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    runtime_s: Mapped[float] = mapped_column(Float)
    cached_from: Mapped[str | None] = mapped_column(String(80))
    site_energy_gj: Mapped[float | None] = mapped_column(Float)
    eui_mj_m2: Mapped[float | None] = mapped_column(Float)
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    heating_gj: Mapped[float | None] = mapped_column(Float)
    cooling_gj: Mapped[float | None] = mapped_column(Float)
    electricity_gj: Mapped[float | None] = mapped_column(Float)
    natural_gas_gj: Mapped[float | None] = mapped_column(Float)
    unmet_hours_heating: Mapped[float | None] = mapped_column(Float)
    unmet_hours_cooling: Mapped[float | None] = mapped_column(Float)
    design_heating_kw: Mapped[float | None] = mapped_column(Float)
    design_cooling_kw: Mapped[float | None] = mapped_column(Float)
    interior_lighting_gj: Mapped[float | None] = mapped_column(Float)
    exterior_lighting_gj: Mapped[float | None] = mapped_column(Float)
    interior_equipment_gj: Mapped[float | None] = mapped_column(Float)
    exterior_equipment_gj: Mapped[float | None] = mapped_column(Float)
    fans_gj: Mapped[float | None] = mapped_column(Float)
    pumps_gj: Mapped[float | None] = mapped_column(Float)
    heat_rejection_gj: Mapped[float | None] = mapped_column(Float)
    humidification_gj: Mapped[float | None] = mapped_column(Float)
    heat_recovery_gj: Mapped[float | None] = mapped_column(Float)
    water_systems_gj: Mapped[float | None] = mapped_column(Float)
    refrigeration_gj: Mapped[float | None] = mapped_column(Float)
    generators_gj: Mapped[float | None] = mapped_column(Float)
    peak_electricity_w: Mapped[float | None] = mapped_column(Float)
    peak_natural_gas_w: Mapped[float | None] = mapped_column(Float)
    warnings: Mapped[int] = mapped_column(Integer)
    severe_errors: Mapped[int] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


_VARIANT_FIELDS = ("batch_id", "variant_id", "model", "weather", "construction_set")
_RESULT_FIELDS = [c for c in RESULT_COLUMNS if c not in _VARIANT_FIELDS[2:]]


def database(url: str) -> Engine:
    """An engine for ``url`` with the schema upgraded to head; SQLite folders are made as needed.

    Any SQLAlchemy URL: ``sqlite:///path``, ``postgresql+psycopg://user:pw@host:port/db``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    try:
        upgrade_engine(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def upgrade_database(url: str) -> None:
    """Create the results schema at ``url``, or upgrade it in place (``alembic upgrade head``)."""
    database(url).dispose()


def _sample_rows(batch_id: str, samples: pd.DataFrame) -> list[SampleRow]:
    rows = []
    for record in samples.to_dict("records"):
        sid = str(record.pop("sample_id"))
        for name, value in record.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            rows.append(
                SampleRow(
                    batch_id=batch_id,
                    sample_id=sid,
                    parameter=name,
                    value=float(value) if number else None,
                    text=None if number else str(value),
                )
            )
    return rows


def store_batch(
    engine: Engine,
    batch: BatchRow,
    results: Sequence[VariantResult],
    samples: pd.DataFrame | None = None,
    sample_ids: Mapping[str, str] | None = None,
) -> None:
    """Replace the batch's rows with these, in one transaction: all rows or none.

    ``samples`` (``samples.parquet``: ``sample_id`` and one column per parameter) and
    ``sample_ids`` (variant id -> sample id) for a study with parameters."""
    sample_ids = sample_ids or {}
    with Session(engine) as session, session.begin():
        session.execute(delete(ResultRow).where(ResultRow.batch_id == batch.batch_id))
        session.execute(delete(VariantRow).where(VariantRow.batch_id == batch.batch_id))
        session.execute(delete(SampleRow).where(SampleRow.batch_id == batch.batch_id))
        session.execute(delete(BatchRow).where(BatchRow.batch_id == batch.batch_id))
        session.add(batch)
        session.flush()
        if samples is not None:
            session.add_all(_sample_rows(batch.batch_id, samples))
        session.add_all(
            VariantRow(
                **{k: getattr(r, k) for k in _VARIANT_FIELDS},
                sample_id=sample_ids.get(r.variant_id),
            )
            for r in results
        )
        session.flush()
        session.add_all(ResultRow(**{k: getattr(r, k) for k in _RESULT_FIELDS}) for r in results)


def load_results(engine: Engine, batch_id: str) -> pd.DataFrame:
    """The stored results of one batch, in the results-table column order."""
    query = (
        select(VariantRow.model, VariantRow.weather, VariantRow.construction_set, ResultRow)
        .join(
            ResultRow,
            (ResultRow.batch_id == VariantRow.batch_id)
            & (ResultRow.variant_id == VariantRow.variant_id),
        )
        .where(VariantRow.batch_id == batch_id)
        .order_by(VariantRow.variant_id)
    )
    with Session(engine) as session:
        rows = [
            {
                "model": m,
                "weather": w,
                "construction_set": c,
                **{k: getattr(r, k) for k in _RESULT_FIELDS},
            }
            for m, w, c, r in session.execute(query)
        ]
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    samples = load_samples(engine, batch_id)
    if samples.empty:
        return frame
    with Session(engine) as session:
        query_ids = select(VariantRow.variant_id, VariantRow.sample_id).where(
            VariantRow.batch_id == batch_id
        )
        ids: dict[str, str | None] = {v: s for v, s in session.execute(query_ids)}
    return with_parameters(frame, samples, ids)


def load_samples(engine: Engine, batch_id: str) -> pd.DataFrame:
    """A batch's stored samples: ``sample_id`` and one column per parameter (in the order
    first stored); empty for a batch without parameters."""
    query = select(SampleRow).where(SampleRow.batch_id == batch_id).order_by(SampleRow.sample_id)
    with Session(engine) as session:
        rows = session.scalars(query).all()
        if not rows:
            return pd.DataFrame()
        names = list(dict.fromkeys(r.parameter for r in rows))
        table: dict[str, dict[str, Any]] = {}
        for r in rows:
            table.setdefault(r.sample_id, {"sample_id": r.sample_id})[r.parameter] = (
                r.value if r.text is None else r.text
            )
    return pd.DataFrame(list(table.values()), columns=["sample_id", *names])


def with_parameters(
    frame: pd.DataFrame, samples: pd.DataFrame, sample_ids: Mapping[str, str | None]
) -> pd.DataFrame:
    """The results table with ``sample_id`` and one column per parameter (the value each
    variant used) after ``construction_set``."""
    names = [c for c in samples.columns if c != "sample_id"]
    by_sample = samples.set_index("sample_id")
    frame = frame.copy()
    at = list(frame.columns).index("construction_set") + 1
    ids = frame["variant_id"].map(lambda v: sample_ids.get(v))
    frame.insert(at, "sample_id", ids)
    for offset, name in enumerate(names, start=1):
        frame.insert(at + offset, name, ids.map(lambda s, n=name: by_sample[n].get(s)))
    return frame


def results_frame(
    results: Sequence[VariantResult],
    samples: pd.DataFrame | None = None,
    sample_ids: Mapping[str, str | None] | None = None,
) -> pd.DataFrame:
    """The results table; with ``samples``, its parameter columns too (``with_parameters``)."""
    frame = pd.DataFrame([r.row() for r in results], columns=RESULT_COLUMNS)
    if samples is None:
        return frame
    return with_parameters(frame, samples, sample_ids or {})


def write_tables(frame: pd.DataFrame, folder: Path) -> tuple[Path, Path]:
    """Write ``results.parquet`` and ``results.csv``; each appears whole or not at all."""
    paths = folder / "results.parquet", folder / "results.csv"
    partial = [p.with_suffix(p.suffix + ".partial") for p in paths]
    frame.to_parquet(partial[0], index=False)
    frame.to_csv(partial[1], index=False)
    for done, path in zip(partial, paths, strict=True):
        os.replace(done, path)
    return paths
