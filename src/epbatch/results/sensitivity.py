"""Which parameters matter: Morris (mu*, sigma) and Sobol (S1, ST) indices with SALib on the
batch's outputs, from the unit design the samples were drawn from, written as
``sensitivity.csv``.

SALib needs whole designs: a Morris trajectory (parameters + 1 samples) or a Sobol block
(parameters + 2 samples) with a failed or skipped variant is left out, and the analysis says so;
too few whole ones left and it says why it cannot run.
"""

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from epbatch.results.records import VariantResult
from epbatch.variants.sampling import Samples

SENSITIVITY_FILE = "sensitivity.csv"
COLUMNS = [
    "output",
    "parameter",
    "method",
    "mu_star",
    "mu_star_conf",
    "sigma",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
    "rank",
]
ANNUAL_OUTPUTS = ("site_energy_gj", "heating_gj", "cooling_gj")
DESIGN_DAY_OUTPUTS = ("design_heating_kw", "design_cooling_kw")  # energy is 0 on design days
METHODS = ("morris", "sobol")
MIN_BLOCKS = 2
SEED = 1  # SALib's bootstrap of the confidence intervals: the same table for the same results


@dataclass(frozen=True)
class Sensitivity:
    rows: list[dict[str, Any]]
    notes: list[str]  # blocks left out, outputs that cannot be analysed, and why


def _block(samples: Samples) -> int:
    return len(samples.names) + (1 if samples.method == "morris" else 2)


def _whole_blocks(y: np.ndarray, size: int) -> np.ndarray:
    """Indexes of the blocks (trajectories, Sobol base samples) with every value present."""
    return np.flatnonzero(np.isfinite(y.reshape(-1, size)).all(axis=1))


def _number(value: Any) -> float:
    return float(value) if value is not None and np.isfinite(value) else math.nan


def _analyse_one(
    samples: Samples, y: np.ndarray, output: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Rows for one output (every value finite), or why there are none."""
    problem = samples.problem()
    if float(np.ptp(y)) == 0.0:
        return [], f"{output} is the same in every sample ({y[0]:g}): no indices"
    rows: list[dict[str, Any]] = []
    if samples.method == "morris":
        from SALib.analyze import morris

        found = morris.analyze(
            problem, samples.unit, y, num_levels=samples.levels, seed=SEED, print_to_console=False
        )
        for i, name in enumerate(samples.names):
            rows.append(
                {
                    "parameter": name,
                    "mu_star": _number(found["mu_star"][i]),
                    "mu_star_conf": _number(found["mu_star_conf"][i]),
                    "sigma": _number(found["sigma"][i]),
                }
            )
        key = "mu_star"
    else:
        from SALib.analyze import sobol

        found = sobol.analyze(
            problem, y, calc_second_order=False, seed=SEED, print_to_console=False
        )
        for i, name in enumerate(samples.names):
            rows.append(
                {
                    "parameter": name,
                    "S1": _number(found["S1"][i]),
                    "S1_conf": _number(found["S1_conf"][i]),
                    "ST": _number(found["ST"][i]),
                    "ST_conf": _number(found["ST_conf"][i]),
                }
            )
        key = "ST"
    order = sorted(rows, key=lambda r: -float(r[key]) if math.isfinite(r[key]) else math.inf)
    for rank, row in enumerate(order, start=1):
        row.update(output=output, method=samples.method, rank=rank)
    return order, None


def analyse(
    samples: Samples,
    results: Sequence[VariantResult],
    sample_ids: dict[str, str],
    design_days: bool = False,
) -> Sensitivity:
    """The indices of every parameter on each output, per model x set x weather (a group
    runs the whole design; with more than one, its id is in brackets after the output)."""
    if samples.method not in METHODS:
        return Sensitivity([], [f"sensitivity: none for {samples.method} sampling (morris, sobol)"])
    outputs = DESIGN_DAY_OUTPUTS if design_days else ANNUAL_OUTPUTS
    position = {sid: i for i, sid in enumerate(samples.ids)}
    groups: dict[tuple[str, str, str], list[VariantResult | None]] = {}
    for result in results:
        sid = sample_ids.get(result.variant_id)
        if sid is None or sid not in position:
            continue
        group = groups.setdefault(
            (result.model, result.construction_set, result.weather), [None] * len(samples)
        )
        group[position[sid]] = result
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    size = _block(samples)
    unit = "trajectories" if samples.method == "morris" else "Sobol base samples"
    for (model, cset, weather), found in groups.items():
        label = f" [{model}, {cset}, {weather}]" if len(groups) > 1 else ""
        for output in outputs:
            y = np.array(
                [
                    _number(getattr(r, output))
                    if r is not None and r.status == "succeeded"
                    else math.nan
                    for r in found
                ]
            )
            whole = _whole_blocks(y, size)
            total = len(y) // size
            if len(whole) < MIN_BLOCKS:
                notes.append(
                    f"sensitivity{label}: {output}: only {len(whole)} of {total} {unit} have "
                    f"every variant succeeded; {samples.method} needs {MIN_BLOCKS} at least "
                    "(SALib analyses whole designs only)"
                )
                continue
            if len(whole) < total:
                notes.append(
                    f"sensitivity{label}: {output}: {total - len(whole)} of {total} {unit} "
                    "left out (a variant failed or was skipped)"
                )
            keep = (whole[:, None] * size + np.arange(size)).ravel()
            sub = Samples(
                samples.method,
                samples.names,
                tuple(samples.ids[i] for i in keep),
                tuple(samples.values[i] for i in keep),
                samples.unit[keep],
                samples.levels,
                samples.seed,
            )
            found_rows, why = _analyse_one(sub, y[keep], output + label)
            rows += found_rows
            if why:
                notes.append(f"sensitivity: {why}")
    return Sensitivity(rows, notes)


def write_sensitivity(rows: list[dict[str, Any]], folder: Path) -> Path:
    """``sensitivity.csv``: one row per output, parameter and method, ranked; cells a method
    does not give are empty."""
    path = folder / SENSITIVITY_FILE
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _csv_cell(row.get(c)) for c in COLUMNS})
    os.replace(partial, path)
    return path


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def sensitivity_lines(rows: list[dict[str, str]]) -> list[str]:
    """The ranked indices as aligned text lines (the terminal's table)."""
    shown = [c for c in COLUMNS if any(row.get(c) for row in rows)]
    widths = {c: max(len(c), *(len(row.get(c) or "") for row in rows)) for c in shown}
    lines = ["  ".join(c.ljust(widths[c]) for c in shown).rstrip()]
    lines += ["  ".join((r.get(c) or "").ljust(widths[c]) for c in shown).rstrip() for r in rows]
    return lines


def read_sensitivity(folder: Path) -> list[dict[str, str]]:
    """The rows of a batch's ``sensitivity.csv`` (none when there is none)."""
    path = folder / SENSITIVITY_FILE
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))
