"""Read a variant's annual results from ``eplusout.sql`` with parameterised queries."""

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from epbatch.results.records import END_USES

ABUPS = "AnnualBuildingUtilityPerformanceSummary"
_QUERY = (
    "SELECT TableName, RowName, ColumnName, Units, Value FROM TabularDataWithStrings "
    "WHERE ReportName = ? AND ReportForString = 'Entire Facility' AND TableName IN (?, ?, ?, ?)"
)
_TABLES = (
    "Site and Source Energy",
    "End Uses",
    "Comfort and Setpoint Not Met Summary",
    "Building Area",
)


class ResultsError(ValueError):
    """An ``eplusout.sql`` that lacks the tables or units the results need."""


@dataclass(frozen=True)
class Metrics:
    site_energy_gj: float
    eui_mj_m2: float
    floor_area_m2: float
    heating_gj: float
    cooling_gj: float
    electricity_gj: float
    natural_gas_gj: float
    unmet_hours_heating: float
    unmet_hours_cooling: float
    design_heating_kw: float | None = None  # None: no zone sizing in the model
    design_cooling_kw: float | None = None
    interior_lighting_gj: float | None = None  # the other end uses (records.END_USES)
    exterior_lighting_gj: float | None = None
    interior_equipment_gj: float | None = None
    exterior_equipment_gj: float | None = None
    fans_gj: float | None = None
    pumps_gj: float | None = None
    heat_rejection_gj: float | None = None
    humidification_gj: float | None = None
    heat_recovery_gj: float | None = None
    water_systems_gj: float | None = None
    refrigeration_gj: float | None = None
    generators_gj: float | None = None


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0  # blank cells, e.g. a fuel the model does not use


def read_metrics(sql_path: Path) -> Metrics:
    """The annual summary of one run; ``ResultsError`` if the tables are missing."""
    uri = f"{sql_path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute(_QUERY, (ABUPS, *_TABLES)).fetchall()
            design = design_loads_kw(connection)
    except sqlite3.Error as error:
        raise ResultsError(f"{sql_path}: cannot read: {error}") from error
    cells = {(t, r, c): (u, v) for t, r, c, u, v in rows}

    def cell(table: str, row: str, column: str, units: str) -> float:
        if (table, row, column) not in cells:
            raise ResultsError(f"{sql_path}: no {ABUPS} cell {table} / {row} / {column}")
        found_units, value = cells[(table, row, column)]
        if found_units != units:
            raise ResultsError(f"{sql_path}: {table} / {row} in {found_units}, expected {units}")
        return _number(value)

    end_uses: dict[str, float] = {}  # every fuel in GJ (water, in m3, is not energy)
    for (table, row, _), (units, value) in cells.items():
        if table == "End Uses" and units == "GJ":
            end_uses[row] = end_uses.get(row, 0.0) + _number(value)

    def end_use(row: str) -> float:
        return round(end_uses.get(row, 0.0), 6)

    site = "Site and Source Energy"
    unmet = "Comfort and Setpoint Not Met Summary"
    return Metrics(
        site_energy_gj=cell(site, "Total Site Energy", "Total Energy", "GJ"),
        eui_mj_m2=cell(site, "Total Site Energy", "Energy Per Total Building Area", "MJ/m2"),
        floor_area_m2=cell("Building Area", "Total Building Area", "Area", "m2"),
        **{column: end_use(row) for column, row in END_USES.items()},
        electricity_gj=cell("End Uses", "Total End Uses", "Electricity", "GJ"),
        natural_gas_gj=cell("End Uses", "Total End Uses", "Natural Gas", "GJ"),
        unmet_hours_heating=cell(
            unmet, "Time Setpoint Not Met During Occupied Heating", "Facility", "Hours"
        ),
        unmet_hours_cooling=cell(
            unmet, "Time Setpoint Not Met During Occupied Cooling", "Facility", "Hours"
        ),
        design_heating_kw=design.get("Heating"),
        design_cooling_kw=design.get("Cooling"),
    )


def design_loads_kw(connection: sqlite3.Connection) -> dict[str, float]:
    """The zones' design heating and cooling loads (sizing factors applied), summed over
    the zones, in kW: what a design-day run gives. Empty for a model without zone sizing.

    From the ``ZoneSizes`` table EnergyPlus writes with its sizing results (the values of the
    HVACSizingSummary report's "Zone Sensible Heating/Cooling" tables), whatever reports the
    model asked for."""
    try:
        rows = connection.execute(
            "SELECT LoadType, SUM(UserDesLoad) FROM ZoneSizes GROUP BY LoadType"
        ).fetchall()
    except sqlite3.OperationalError:  # no such table: an engine that does not write it
        return {}
    return {kind: round(total / 1000.0, 3) for kind, total in rows if total is not None}
