"""Parameter samples: a design in the unit cube (grid, Latin hypercube, Sobol/Saltelli, random,
Morris trajectories), mapped onto each parameter's range or levels, with stable sample ids.

The same study and seed give the same samples, hence the same IDFs, variant ids and cache keys.
"""

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from epbatch.study.spec import Parameter, Sampling, Study

Value = float | str
SAMPLES_FILE = "samples.parquet"


def sample_id(index: int) -> str:
    """``p0001``, ``p0002``, …: 1-based, 4 digits at least (sorts as text up to 9,999)."""
    return f"p{index + 1:04d}"


@dataclass(frozen=True)
class Samples:
    """The study's parameter samples, in order: ``values[i][key]`` is what variant ``ids[i]``
    uses. ``unit`` is the design in [0, 1]^d (parameters in study order), for SALib."""

    method: str
    names: tuple[str, ...]
    ids: tuple[str, ...]
    values: tuple[dict[str, Value], ...]
    unit: Any  # numpy array (n, d)
    levels: int = 4  # morris grid levels
    seed: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[dict[str, Value | str]]:
        return [{"sample_id": i, **v} for i, v in zip(self.ids, self.values, strict=True)]

    def problem(self) -> dict[str, Any]:
        """SALib's problem: every parameter on [0, 1] (the unit design)."""
        return {
            "num_vars": len(self.names),
            "names": list(self.names),
            "bounds": [[0.0, 1.0]] * len(self.names),
        }


def _value(parameter: Parameter, u: float, integer: bool) -> Value:
    """The unit coordinate ``u`` as the parameter's value (a level, or a point of its range)."""
    levels = parameter.levels
    if levels is not None:
        return levels[min(int(u * len(levels)), len(levels) - 1)]
    low, high = parameter.bounds or (0.0, 1.0)
    value = low + float(u) * (high - low)
    value = float(round(value)) if integer and not parameter.is_scale else value
    rounded = float(f"{value:.12g}")  # 1.235921986677, not 1.2359219866770001
    return min(max(rounded, low), high)  # rounding never leaves the range


def _grid(parameters: list[Parameter]) -> "np.ndarray":
    """Every combination of the levels, the last parameter varying fastest, as unit
    coordinates at each level's centre (so ``_value`` maps them back exactly)."""
    import numpy as np

    axes = [
        [(i + 0.5) / len(p.levels or [0]) for i in range(len(p.levels or [0]))] for p in parameters
    ]
    return np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, len(parameters))


def unit_design(sampling: Sampling, dims: int, parameters: list[Parameter]) -> "np.ndarray":
    """The design in [0, 1]^dims (NumPy, SciPy and SALib load only for a study that samples)."""
    import numpy as np

    n, seed = sampling.samples or 0, sampling.seed
    if sampling.method == "grid":
        return _grid(parameters)
    if sampling.method == "lhs":
        from scipy.stats import qmc

        return np.asarray(qmc.LatinHypercube(d=dims, seed=seed).random(n))
    if sampling.method == "random":
        return np.random.default_rng(seed).random((n, dims))
    problem = {"num_vars": dims, "names": [f"x{i}" for i in range(dims)], "bounds": [[0, 1]] * dims}
    if sampling.method == "sobol":  # Saltelli's design on a scrambled Sobol sequence
        from SALib.sample import sobol

        return np.asarray(
            sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
        )
    if sampling.method == "morris":
        from SALib.sample import morris

        return np.asarray(morris.sample(problem, n, num_levels=sampling.levels, seed=seed))
    raise ValueError(f"unknown sampling method {sampling.method!r}")


def draw_samples(study: Study, integer: Iterable[str] = ()) -> Samples | None:
    """The study's samples (``None`` without parameters); ``integer`` names the parameters
    whose field is an integer (their range values are rounded)."""
    if not study.parameters:
        return None
    sampling = study.sampling or Sampling()
    names = tuple(study.parameters)
    parameters = [study.parameters[k] for k in names]
    whole = set(integer)
    unit = unit_design(sampling, len(names), parameters)
    values = tuple(
        {k: _value(p, float(u), k in whole) for k, p, u in zip(names, parameters, row, strict=True)}
        for row in unit
    )
    ids = tuple(sample_id(i) for i in range(len(values)))
    return Samples(sampling.method, names, ids, values, unit, sampling.levels, sampling.seed)


def write_samples(samples: Samples, folder: Path) -> tuple[Path, Path]:
    """``samples.parquet`` and ``samples.csv`` (sample id, then one column per parameter)."""
    import os

    import pandas as pd

    frame = pd.DataFrame(samples.rows(), columns=["sample_id", *samples.names])
    for name in samples.names:  # levels mixing numbers and texts (0.5, autosize): all text
        if frame[name].map(type).nunique() > 1:
            frame[name] = frame[name].map(str)
    paths = folder / SAMPLES_FILE, folder / "samples.csv"
    partial = [p.with_suffix(p.suffix + ".partial") for p in paths]
    frame.to_parquet(partial[0], index=False)
    frame.to_csv(partial[1], index=False)
    for done, path in zip(partial, paths, strict=True):
        os.replace(done, path)
    return paths
