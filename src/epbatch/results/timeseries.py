"""Hourly series from ``eplusout.sql`` (the study's ``timeseries`` key) into one Parquet dataset
per batch: ``<batch>/timeseries/variant_id=<id>/part.parquet`` with the columns timestamp (the
start of the hour), name, key (a zone or other key; empty for meters), units, value.

Only the weather-file run period is read (no warm-up days, no sizing periods). Meters are
energy per hour in J, as EnergyPlus reports them; their peak demand in W is the largest
hour's energy over its length.
"""

import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pandas as pd

from epbatch.results.sqlresults import ResultsError

SERIES_DIR = "timeseries"
PART_FILE = "part.parquet"
COLUMNS = ["timestamp", "name", "key", "units", "value"]
# Peak demand columns of the results table, and the meter each is the peak of.
PEAK_METERS = {
    "peak_electricity_w": "ELECTRICITY:FACILITY",
    "peak_natural_gas_w": "NATURALGAS:FACILITY",
}
RUN_PERIOD_ENVIRONMENT = 3  # EnvironmentPeriods.EnvironmentType of a weather-file run period
DEFAULT_YEAR = 2001  # a non-leap year for a Time table without years

_QUERY = """
SELECT t.Year, t.Month, t.Day, t.Hour, t.Minute, t.Interval, d.Name, d.KeyValue, d.Units, r.Value
FROM ReportData r
JOIN ReportDataDictionary d ON d.ReportDataDictionaryIndex = r.ReportDataDictionaryIndex
JOIN Time t ON t.TimeIndex = r.TimeIndex
LEFT JOIN EnvironmentPeriods e ON e.EnvironmentPeriodIndex = t.EnvironmentPeriodIndex
WHERE d.ReportingFrequency = 'Hourly'
  AND UPPER(d.Name) IN ({names})
  AND COALESCE(t.WarmupFlag, 0) = 0
  AND COALESCE(e.EnvironmentType, {run_period}) = {run_period}
ORDER BY d.Name, d.KeyValue, t.TimeIndex
"""


def series_file(batch_folder: Path, variant_id: str) -> Path:
    return batch_folder / SERIES_DIR / f"variant_id={variant_id}" / PART_FILE


def read_series(sql_path: Path, names: Sequence[str]) -> pd.DataFrame:
    """The hourly values of ``names`` (meters or variables, any case) in one long table."""
    query = _QUERY.format(names=", ".join("?" * len(names)), run_period=RUN_PERIOD_ENVIRONMENT)
    uri = f"{sql_path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(query, [n.upper() for n in names]).fetchall()
    except sqlite3.Error as error:
        raise ResultsError(f"{sql_path}: cannot read the time series: {error}") from error
    raw = pd.DataFrame(
        rows,
        columns=[
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "interval",
            "name",
            "key",
            "units",
            "value",
        ],
    )
    years = raw["year"].where(raw["year"].fillna(0) > 0, DEFAULT_YEAR).astype("int64")
    dates = pd.to_datetime(
        pd.DataFrame({"year": years, "month": raw["month"], "day": raw["day"]}), errors="coerce"
    )
    # EnergyPlus stamps the end of each interval (hour 24 is midnight): the start of it.
    ends = dates + pd.to_timedelta(raw["hour"] * 60 + raw["minute"], unit="min")
    frame = pd.DataFrame(
        {
            "timestamp": ends - pd.to_timedelta(raw["interval"], unit="min"),
            "name": raw["name"].astype("string"),
            "key": raw["key"].fillna("").astype("string"),
            "units": raw["units"].astype("string"),
            "value": raw["value"].astype("float64"),
        }
    )
    return frame


def peak_columns(frame: pd.DataFrame) -> dict[str, float | None]:
    """The peak hourly demand, W, of the meters that have a peak column (None if not asked)."""
    peaks: dict[str, float | None] = {}
    names = frame["name"].str.upper()
    for column, meter in PEAK_METERS.items():
        rows = frame[(names == meter) & (frame["units"] == "J")]
        if not rows.empty:  # hourly: J in the hour / 3600 s
            peaks[column] = round(float(rows["value"].max()) / 3600.0, 3)
    return peaks


def write_series(frame: pd.DataFrame, batch_folder: Path, variant_id: str) -> Path:
    """Write one variant's part of the batch's dataset (whole or not at all)."""
    path = series_file(batch_folder, variant_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    frame[COLUMNS].to_parquet(partial, index=False)
    os.replace(partial, path)
    return path


def copy_cached_series(
    batch_folder: Path, variant_id: str, out_dir: Path, names: Sequence[str]
) -> Path | None:
    """A cached variant's series, read again from the outputs its ``out`` links to (the
    batch that simulated it); ``None`` when those outputs are gone."""
    path = series_file(batch_folder, variant_id)
    sql = out_dir / "eplusout.sql"
    if path.is_file() or not sql.is_file():
        return path if path.is_file() else None
    return write_series(read_series(sql, names), batch_folder, variant_id)
