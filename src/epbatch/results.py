"""The result record of one variant: a failed simulation is data, not an exception."""

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
    warnings: int = 0
    severe_errors: int = 0
    exit_code: int | None = None
    error: str | None = None
    retryable: bool = field(default=False, metadata={"column": False})

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RESULT_COLUMNS}


RESULT_COLUMNS = [f.name for f in fields(VariantResult) if f.metadata.get("column", True)]
