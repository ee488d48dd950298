"""The result record of one variant: a failed simulation is data, not an exception."""

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

Status = Literal["succeeded", "failed", "skipped"]  # skipped: never run (failure budget)


@dataclass(frozen=True)
class VariantResult:
    """One row of the results table."""

    batch_id: str
    variant_id: str
    model: str
    weather: str
    construction_set: str
    status: Status
    runtime_s: float  # of the simulation; for a cached variant, of the one that made its outputs
    cached_from: str | None = None  # the batch whose outputs were reused (a cache hit)
    site_energy_gj: float | None = None
    eui_mj_m2: float | None = None
    floor_area_m2: float | None = None
    heating_gj: float | None = None
    cooling_gj: float | None = None
    electricity_gj: float | None = None
    natural_gas_gj: float | None = None
    unmet_hours_heating: float | None = None
    unmet_hours_cooling: float | None = None
    design_heating_kw: float | None = None  # the zones' design loads (sizing), summed
    design_cooling_kw: float | None = None
    # The annual end uses (AnnualBuildingUtilityPerformanceSummary "End Uses"), GJ, summed
    # over the fuels; heating_gj and cooling_gj above are the first two.
    interior_lighting_gj: float | None = None
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
    # Peak hourly demand, W, from the study's ``timeseries`` meters (None when not asked).
    peak_electricity_w: float | None = None
    peak_natural_gas_w: float | None = None
    warnings: int = 0
    severe_errors: int = 0
    exit_code: int | None = None
    error: str | None = None
    retryable: bool = field(default=False, metadata={"column": False})

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RESULT_COLUMNS}


RESULT_COLUMNS = [f.name for f in fields(VariantResult) if f.metadata.get("column", True)]

# Each end-use column and the row of the end-use table it sums (every fuel, GJ).
END_USES: dict[str, str] = {
    "heating_gj": "Heating",
    "cooling_gj": "Cooling",
    "interior_lighting_gj": "Interior Lighting",
    "exterior_lighting_gj": "Exterior Lighting",
    "interior_equipment_gj": "Interior Equipment",
    "exterior_equipment_gj": "Exterior Equipment",
    "fans_gj": "Fans",
    "pumps_gj": "Pumps",
    "heat_rejection_gj": "Heat Rejection",
    "humidification_gj": "Humidification",
    "heat_recovery_gj": "Heat Recovery",
    "water_systems_gj": "Water Systems",
    "refrigeration_gj": "Refrigeration",
    "generators_gj": "Generators",
}

# The results table in the Prefect UI: these first, always; then the other columns whose value
# differs between rows (a batch_id, a single model or weather, is the same on every row).
LEADING_COLUMNS = [
    "variant_id",
    "status",
    "eui_mj_m2",
    "site_energy_gj",
    "heating_gj",
    "cooling_gj",
    "error",
]
TABLE_ERROR_CHARS = 160


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, str) and len(value) > TABLE_ERROR_CHARS:
        return value[: TABLE_ERROR_CHARS - 1] + "…"
    return value


def table_rows(
    results: list[VariantResult], parameters: Mapping[str, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The rows of the UI's results table: the leading columns, the parameters' values (by
    variant id, a study with parameters), then the varying columns."""
    parameters = parameters or {}
    rows = [r.row() for r in results]
    varying = [
        c
        for c in RESULT_COLUMNS
        if c not in LEADING_COLUMNS and len({repr(row[c]) for row in rows}) > 1
    ]
    table = []
    for row in rows:
        cells = {c: _cell(row[c]) for c in LEADING_COLUMNS[:2]}
        cells |= {k: _cell(v) for k, v in parameters.get(row["variant_id"], {}).items()}
        cells |= {c: _cell(row[c]) for c in LEADING_COLUMNS[2:] + varying}
        table.append(cells)
    return table


def _gj(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} GJ"


def outcome_line(result: VariantResult) -> str:
    """One line with a variant's key results, or why it failed, for its task run's log."""
    if result.status != "succeeded":
        exit_code = "" if result.exit_code is None else f", exit code {result.exit_code}"
        return (
            f"{result.variant_id} {result.status} after {result.runtime_s:.1f} s{exit_code}: "
            f"{result.error or 'no message'}"
        )
    eui = "n/a" if result.eui_mj_m2 is None else f"{result.eui_mj_m2:.1f} MJ/m2"
    return (
        f"{result.variant_id} succeeded in {result.runtime_s:.1f} s: site energy "
        f"{_gj(result.site_energy_gj)}, EUI {eui}, heating {_gj(result.heating_gj)}, "
        f"cooling {_gj(result.cooling_gj)}; warnings {result.warnings}, "
        f"severe {result.severe_errors}"
    )
