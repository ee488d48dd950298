"""Run one variant through a runner and turn its outputs into a ``VariantResult``."""

import logging
import os
import shutil
import signal
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from epbatch.results.errfile import ErrSummary, parse_err_file
from epbatch.results.records import VariantResult
from epbatch.results.sqlresults import ResultsError, read_metrics
from epbatch.run.runners import RunOutcome, SimulationJob, get_runner
from epbatch.run.runners.base import RunMode, RunnerName
from epbatch.settings import KeepOutputs
from epbatch.variants.generate import Variant, VariantName

LOW_DISK_BYTES = 16 * 2**20
# What a succeeded variant keeps of the engine's output folder (failed ones keep everything).
KEPT_OUTPUTS: dict[str, frozenset[str]] = {
    "sql-err": frozenset({"eplusout.sql", "eplusout.err", "energyplus.log"}),
    "err": frozenset({"eplusout.err", "energyplus.log"}),
}


@dataclass(frozen=True)
class RunOptions:
    """How every variant of a batch runs."""

    batch_id: str
    executable: Path
    mode: RunMode
    timeout_s: float
    runner: RunnerName = "local"
    keep_outputs: KeepOutputs = "sql-err"
    timeseries: tuple[str, ...] = ()  # the study's hourly series (``timeseries.py``)


class VariantFailed(Exception):
    """Raised by the task layer so a failed variant shows as failed; carries its record."""

    def __init__(self, result: VariantResult) -> None:
        super().__init__(result.error)
        self.result = result


def _failure(outcome: RunOutcome, err: ErrSummary | None, sql: Path) -> tuple[str, bool] | None:
    """Why the run failed and whether trying again may help; ``None`` if it succeeded.

    Transient: the engine timed out, was killed by a signal, or left its outputs incomplete.
    Not SIGXFSZ: a file-size limit (``ulimit -f``) stops every attempt at the same point.
    Deterministic: the model itself fails (Fatal/Severe errors, a non-zero exit of its own).
    """
    if outcome.timed_out:
        return f"timeout after {outcome.runtime_s:.1f} s", True
    if err is not None and (err.fatal or err.severe) and not err.completed:
        return "; ".join(err.messages) or "EnergyPlus terminated with a fatal error", False
    if outcome.exit_code == -signal.SIGXFSZ:  # the same limit stops a retry: not transient
        return (
            "EnergyPlus was killed by SIGXFSZ: an output file exceeded the file-size limit "
            "(ulimit -f / RLIMIT_FSIZE); its outputs are incomplete",
            False,
        )
    if outcome.exit_code != 0:
        tail = outcome.log_tail.strip().splitlines()[-1:] or [""]
        code = outcome.exit_code
        how = f"was killed by {_signal_name(-code)}" if code < 0 else f"exited with code {code}"
        message = f"EnergyPlus {how}: {tail[0]}".rstrip(": ")
        return message, code < 0
    if err is None:
        return "EnergyPlus wrote no eplusout.err", True
    if not err.completed:
        return "EnergyPlus did not report completion in eplusout.err", True
    if not sql.is_file():
        return "EnergyPlus wrote no eplusout.sql", True
    return None


def _disk_note(folder: Path) -> str:
    """A hint when the outputs' disk is (nearly) full: EnergyPlus then truncates its outputs
    and still reports success, so the failure shows up as an unreadable ``eplusout.sql``."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    if free >= LOW_DISK_BYTES:
        return ""
    return f" (only {free / 2**20:.1f} MiB free on the disk of {folder}: it is probably full)"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def failed_result(variant: Variant | VariantName, options: RunOptions, error: str) -> VariantResult:
    """The record of a variant whose run broke down outside the engine."""
    return VariantResult(
        options.batch_id,
        variant.variant_id,
        variant.model,
        variant.weather,
        variant.construction_set,
        status="failed",
        runtime_s=0.0,
        error=error,
    )


def skipped_result(name: VariantName, options: RunOptions, reason: str) -> VariantResult:
    """The record of a variant the batch never ran: it stopped first (the failure budget)."""
    return replace(failed_result(name, options, reason), status="skipped")


def reused_result(
    variant: Variant, options: RunOptions, result: VariantResult, cached: bool = False
) -> VariantResult:
    """A result computed for identical content, relabelled for this variant.

    ``cached``: a cache hit. When the result was made by another batch, ``cached_from``
    names that batch (the first one, for a result reused again), and this variant's ``out``
    links to its outputs (``link_reused_outputs``). A hit on this batch's own result (its task
    run submitted again) is no reuse.
    """
    source = result.cached_from or result.batch_id
    return replace(
        result,
        batch_id=options.batch_id,
        variant_id=variant.variant_id,
        model=variant.model,
        weather=variant.weather,
        construction_set=variant.construction_set,
        cached_from=source if cached and source != options.batch_id else None,
    )


def link_reused_outputs(variant: Variant, source: VariantResult) -> Path | None:
    """Make ``variant``'s ``out`` a relative link to the outputs of the variant whose result
    it reused (``source``, as cached), when they are under the same output root: a batch
    folder then holds every variant's ``out``. Returns the outputs linked to, if any."""
    root = variant.folder.parents[3]  # <root>/<study>/<batch>/variants/<variant>
    if source.batch_id == variant.folder.parents[1].name:  # this batch's own result
        return None
    found = sorted(root.glob(f"*/{source.batch_id}/variants/{source.variant_id}/out"))
    out = variant.folder / "out"
    if not found or out.exists() or out.is_symlink():
        return None
    out.symlink_to(os.path.relpath(found[0], variant.folder), target_is_directory=True)
    return found[0]


def simulate_variant(
    variant: Variant,
    options: RunOptions,
    around_engine: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> VariantResult:
    """Run ``variant`` and return its record; never raises for a failing simulation.

    ``around_engine`` is entered around the engine process alone (not the parsing after it):
    the task hands its ``energyplus`` slot to the next variant the moment the engine exits."""
    out_dir = variant.folder / "out"
    shutil.rmtree(out_dir, ignore_errors=True)  # nothing stale from an earlier attempt
    job = SimulationJob(
        options.executable, variant.idf, variant.epw, out_dir, options.mode, options.timeout_s
    )
    with around_engine():
        outcome = get_runner(options.runner).run(job)
    err = parse_err_file(out_dir / "eplusout.err")
    sql = out_dir / "eplusout.sql"
    failure = _failure(outcome, err, sql)
    record = replace(
        failed_result(variant, options, failure[0] if failure else ""),
        runtime_s=round(outcome.runtime_s, 3),
        warnings=err.warnings if err else 0,
        severe_errors=err.severe if err else 0,
        exit_code=outcome.exit_code,
        retryable=bool(failure and failure[1]),
    )
    if failure:
        return replace(record, error=failure[0] + _disk_note(out_dir))
    try:
        metrics = read_metrics(sql)
    except ResultsError as problem:  # e.g. a full disk: the engine still reports success
        return replace(record, error=str(problem) + _disk_note(out_dir))
    peaks: dict[str, float | None] = {}
    if options.timeseries:
        try:
            peaks = write_variant_series(sql, variant, options.timeseries)
        except (OSError, ResultsError) as problem:
            return replace(record, error=f"time series: {problem}" + _disk_note(out_dir))
    prune_outputs(out_dir, options.keep_outputs)
    return replace(
        record,
        status="succeeded",
        error=None,
        peak_electricity_w=peaks.get("peak_electricity_w"),
        peak_natural_gas_w=peaks.get("peak_natural_gas_w"),
        **asdict(metrics),
    )


def write_variant_series(
    sql: Path, variant: Variant, names: Sequence[str]
) -> dict[str, float | None]:
    """Write the variant's hourly series into its batch's ``timeseries`` dataset; its peaks."""
    from epbatch.results.timeseries import peak_columns, read_series, write_series

    frame = read_series(sql, names)
    found = set(frame["name"].str.upper())
    missing = [n for n in names if n.upper() not in found]
    if missing:  # e.g. NaturalGas:Facility in an all-electric model: the engine only warns
        logging.getLogger("epbatch").warning(
            "%s: no hourly values of %s (see its eplusout.err)", variant.variant_id, missing
        )
    write_series(frame, variant.folder.parents[1], variant.variant_id)
    return peak_columns(frame)


def prune_outputs(out_dir: Path, keep: KeepOutputs) -> None:
    """Apply the retention policy: delete every output file but the kept ones."""
    if keep == "all":
        return
    for path in out_dir.iterdir():
        if path.name not in KEPT_OUTPUTS[keep]:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
