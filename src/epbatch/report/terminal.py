"""The results table ``epbatch run`` prints: whole variant ids, aligned numbers, ``cached``."""

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

ENERGY_COLUMNS = [
    "site_energy_gj",
    "eui_mj_m2",
    "heating_gj",
    "cooling_gj",
    "unmet_hours_heating",
]
DESIGN_DAY_COLUMNS = ["design_heating_kw", "design_cooling_kw"]
_FIGURES = {"runtime_s", *ENERGY_COLUMNS, *DESIGN_DAY_COLUMNS}
ERROR_WIDTH = 100  # the whole message is in results.csv and the database


def table_columns(design_days: bool, parameters: Sequence[str] = ()) -> list[str]:
    """What the table shows: design loads instead of the (zero) energy of design-day runs;
    the parameters' values (a study with parameters) after the run time."""
    figures = DESIGN_DAY_COLUMNS if design_days else ENERGY_COLUMNS
    return ["variant_id", "status", "runtime_s", *parameters, *figures, "warnings", "error"]


def _cell(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "error":
        text = " ".join(str(value).split())
        return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 1] + "…"
    if isinstance(value, float):
        return f"{value:.2f}" if column in _FIGURES else f"{value:.6g}"
    return str(value)


def results_table(
    frame: pd.DataFrame, design_days: bool = False, parameters: Sequence[str] = ()
) -> str:
    """One line per variant. A variant whose outputs come from an earlier batch shows
    ``cached`` (its ``cached_from`` column names that batch) and no run time of its own."""
    columns = table_columns(design_days, [p for p in parameters if p in frame.columns])
    rows = []
    for record in frame.to_dict("records"):
        cached = isinstance(record.get("cached_from"), str) and record["status"] == "succeeded"
        if cached:
            record = {**record, "status": "cached", "runtime_s": None}
        rows.append([_cell(record.get(c), c) for c in columns])
    numeric = {c for c in columns if c not in ("variant_id", "status", "error")}
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]

    def line(cells: list[str]) -> str:
        padded = [
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        ]
        return "  ".join([*padded[:-1], cells[-1]]).rstrip()  # the error is not padded

    return "\n".join([line(columns), *(line(r) for r in rows)])
