"""The ``epbatch`` command: ``run STUDY`` and ``demo``.

Exit status: 0 all variants succeeded, 1 some failed (results still stored), 2 invalid input.
"""

import argparse
import os
import sys
from pathlib import Path

from epbatch.engine import EngineNotFoundError, find_engine
from epbatch.inputs import resolve_inputs
from epbatch.settings import get_settings
from epbatch.study import MAX_SLOTS, StudyError, load_study

TABLE_COLUMNS = [
    "variant_id",
    "status",
    "runtime_s",
    "site_energy_gj",
    "eui_mj_m2",
    "heating_gj",
    "cooling_gj",
    "unmet_hours_heating",
    "error",
]
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # An ephemeral server can take 10-20 s to start on a loaded 2-core machine.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="epbatch", description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, help="results root (EPBATCH_OUTPUT_DIR)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (EPBATCH_DATABASE_URL)")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a study file")
    run.add_argument("study", type=Path)
    run.add_argument("--slots", type=int, help="concurrent EnergyPlus processes")
    demo = commands.add_parser("demo", help="run the built-in demo study")
    demo.add_argument("--slots", type=int, help="concurrent EnergyPlus processes")
    return parser


def _check(study_file: Path) -> None:
    """Fail fast on the study file and the files it names, before Prefect starts."""
    study = load_study(study_file)
    resolve_inputs(study, study_file, find_engine(get_settings().energyplus))


def _run(study_file: Path, slots: int | None) -> int:
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from epbatch.storage import database, load_results
    from flows.batch import run_energyplus_batch  # Prefect loads only when a batch runs

    summary = run_energyplus_batch(str(study_file), slots)
    frame = load_results(database(summary.database_url), summary.batch_id)
    with_columns = frame[TABLE_COLUMNS].fillna("")
    print(with_columns.to_string(index=False, max_colwidth=60))
    print(summary)
    return 0 if summary.failed == 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.output_dir:
        os.environ["EPBATCH_OUTPUT_DIR"] = str(args.output_dir)
    if args.database_url:
        os.environ["EPBATCH_DATABASE_URL"] = args.database_url
    try:
        if args.command == "demo":
            from epbatch.demo import write_demo_study

            study_file = write_demo_study(get_settings().output_dir / "demo-inputs")
        else:
            study_file = args.study
        if args.slots is not None and not 1 <= args.slots <= MAX_SLOTS:
            raise StudyError("--slots", [f"must be between 1 and {MAX_SLOTS}, got {args.slots}"])
        _check(study_file)
        return _run(study_file, args.slots)
    except (StudyError, EngineNotFoundError) as error:
        print(f"epbatch: invalid input:\n{error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
