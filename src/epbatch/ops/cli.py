"""The ``epbatch`` command: ``run STUDY``, ``demo``, ``status``, ``aggregate``, ``server``.

Exit status: 0 all variants succeeded, 1 some failed or the failure budget stopped the batch
(results still stored, unrun variants ``skipped``), 2 invalid input,
3 the results are saved on disk but the database could not store them (``epbatch aggregate``),
4 no Prefect server answered (the one named, or the run's own could not start).
"""

import argparse
import logging
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from epbatch.ops.progress import (
    BatchProgress,
    read_progress,
    server_slot_lines,
    status_lines,
    subscribe,
)
from epbatch.ops.server import (
    DEFAULT_PORT,
    ServerUnavailable,
    TemporaryServer,
    api_url,
    is_healthy,
    lean_client_env,
    profile_api_url,
    profile_setting,
    wait_healthy,
)
from epbatch.run.engine import EngineNotFoundError, find_engine
from epbatch.run.runners.base import RunnerName
from epbatch.settings import get_settings
from epbatch.study.inputs import check_inputs
from epbatch.study.spec import MAX_SLOTS, Study, StudyError, read_study, sample_count

if TYPE_CHECKING:
    from epbatch.ops.pgcluster import LocalPostgres
    from epbatch.variants.plan import BatchSummary

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}
HEARTBEAT_SETTINGS = ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY")
NAMED_SERVER_WAIT_S = 10.0  # a server the user named may be starting up
FLOW_STARTED = threading.Event()  # unset: nothing was sent to Prefect, nothing to drain
TEMPORARY: TemporaryServer | None = None  # the run's own Prefect server, if it started one


DESCRIPTION = (
    "Run EnergyPlus parametric studies (models x construction sets x weather files)\n"
    "as one Prefect flow, and store every variant's results."
)
EPILOG = """\
exit status:
  0  every variant succeeded
  1  some variants failed, or the failure budget stopped the batch (results still stored)
  2  invalid input (study file, models, weather, options)
  3  results saved on disk, but the database could not store them (see `epbatch aggregate`)
  4  no Prefect server answered (the one named, or the run's own could not start)

environment:
  EPBATCH_OUTPUT_DIR     where batches go (default ./epbatch-runs)
  EPBATCH_DATABASE_URL   results database, any SQLAlchemy URL (default SQLite in the output dir)
  EPBATCH_ENERGYPLUS     your own energyplus executable (default: the bundled engine)
  EPBATCH_TIMEOUT_S      per-variant timeout if the study sets none (default 3600)
  EPBATCH_KEEP_OUTPUTS   sql-err (default), err or all: what a succeeded variant keeps
  EPBATCH_RUNNER         local (default) or docker; EPBATCH_DOCKER_IMAGE, EPBATCH_DOCKER_MEMORY,
                         EPBATCH_DOCKER_CPUS: the docker runner's image and limits
  EPBATCH_DASK_ADDRESS   run the simulations on this Dask scheduler's workers
  EPBATCH_CACHE_DIR      epbatch's cache (default ~/.cache/epbatch)
  PREFECT_API_URL        the Prefect server to report to (default: an `epbatch server` on
                         127.0.0.1:4200, else a temporary server for the run)
  (EPBATCH_* settings are also read from a .env file in the current folder)
"""


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    """``--output-dir`` and ``--database-url``: before or after the subcommand alike."""
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=default,
        metavar="DIR",
        help="results root (EPBATCH_OUTPUT_DIR)",
    )
    parser.add_argument(
        "--database-url",
        default=default,
        metavar="URL",
        help="results database, a SQLAlchemy URL (EPBATCH_DATABASE_URL)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="epbatch",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(parser, None)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)  # after the subcommand: overrides, if given
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=help,
            parents=[common],
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    run = command("run", "run a study file")
    run.add_argument(
        "study",
        type=Path,
        help="study file (YAML): name, models, weather, run_period, construction_sets (README)",
    )
    run.add_argument("--slots", type=int, help="concurrent EnergyPlus processes")
    run.add_argument("--runner", choices=["local", "docker"], help="override the study's runner")
    demo = command("demo", "run the built-in demo study (3 annual runs of a shoebox office)")
    demo.add_argument("--slots", type=int, help="concurrent EnergyPlus processes")
    demo.add_argument("--runner", choices=["local", "docker"], help="local or docker")
    status = command("status", "progress of a batch (default: the latest)")
    status.add_argument("batch_id", nargs="?", help="a batch id (default: the latest batch)")
    report = command("report", "write a batch's report.html again (default: the latest batch)")
    report.add_argument("batch_id", nargs="?", help="a batch id (default: the latest batch)")
    aggregate = command("aggregate", "store a finished batch's saved results in the database")
    aggregate.add_argument("batch_id", help="the batch id (its folder's name)")
    server = command("server", "a local Prefect server (with its UI), work pool and limit")
    server.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback)")
    server.add_argument("--port", type=int, default=DEFAULT_PORT)
    server.add_argument(
        "--slots",
        type=int,
        default=os.cpu_count() or 1,
        help="the energyplus concurrency limit across all runs",
    )
    server.add_argument("--worker", action="store_true", help="also start a process worker")
    server.add_argument(
        "--database",
        choices=["auto", "postgres", "sqlite"],
        default="auto",
        help="Prefect's own database: a private PostgreSQL cluster in PREFECT_HOME/epbatch-postgres"
        " (auto: when PostgreSQL's server binaries are installed) or SQLite, whose write locks"
        " stall slot hand-overs",
    )
    return parser


def say(line: str) -> None:
    """A short line for the user, on stderr at once (stdout holds the results)."""
    print(f"epbatch: {line}", file=sys.stderr, flush=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


_PLANNED: set[str] = set()  # batches whose plan was announced


def _say_planned(batch_id: str, variants: int, slots: int, folder: Path) -> None:
    """``N variants planned on S slots``, once per batch, however the plan reached us."""
    if batch_id in _PLANNED:
        return
    _PLANNED.add(batch_id)
    say(f"batch {batch_id}: {_count(variants, 'variant')} planned on {_count(slots, 'slot')}")
    say(f"outputs in {folder}")


def _check(study_file: Path) -> str | None:
    """Fail fast on the study file and the files it names, before any flow run starts,
    with every problem at once.

    Once the study file itself is valid, Prefect (~1.2 s to import) loads in a thread while
    the models are checked, unless the run gets a head start: then Prefect (and the run's own
    temporary server, if it needs one) starts once the first engines run.
    """
    checked = read_study(study_file)
    api = None
    if checked.study is not None:
        study = checked.study
        say(
            f"checking {study_file.name}: {_count(len(study.models), 'model')},"
            f" {_count(len(study.weather), 'weather file')},"
            f" {_count(len(study.construction_sets), 'construction set')}" + _parameters_line(study)
        )
        api = _prepare_prefect()
        if TEMPORARY is None and not _holds_slots_first(api):
            _load_prefect_meanwhile()
    settings = get_settings()
    check_inputs(checked, find_engine(settings.energyplus), settings.cache_dir)
    return api


def _load_prefect_meanwhile() -> None:
    """Import Prefect and the flow (~1.2 s) in a thread while other work goes on."""
    threading.Thread(target=import_module, args=("flows.batch",), daemon=True).start()


def _holds_slots_first(api: str | None) -> bool:
    """Whether a run reporting to a running server starts its first engines before its flow,
    in slots it takes from the server's limit through the REST API (``ops/leases.py``): a
    plain-HTTP API without credentials, and no Dask cluster (its workers could not claim this
    process's simulations)."""
    credentials = ("PREFECT_API_KEY", "PREFECT_API_AUTH_STRING")
    return (
        TEMPORARY is None
        and api is not None
        and api.startswith("http://")
        and not get_settings().dask_address
        and not any(os.environ.get(key) or profile_setting(key) for key in credentials)
    )


def _head_start(study_file: Path, slots: int | None, runner: RunnerName | None, api: str) -> Path:
    """Plan the batch now and simulate its first variants while Prefect loads and, for a run's
    own temporary server, while it boots (seconds, more on a new PREFECT_HOME)
    (``head_start``); the flow takes over the plan and the simulations. On a server other runs
    share, only as many engines as slots it could take now. Returns the batch's folder."""
    from epbatch.ops.leases import NoLimit, ServerLeases
    from epbatch.run import head_start
    from epbatch.run.simulate import simulate_variant
    from epbatch.variants.plan import hand_over, plan_batch

    plan = plan_batch(study_file, get_settings(), slots, runner)
    _say_planned(plan.batch_id, len(plan.variants), plan.slots, plan.folder)
    hand_over(plan, slots, runner)
    engines, leases = plan.slots, None
    if TEMPORARY is None:
        leases = ServerLeases(api)
        try:
            engines = len(leases.take(plan.slots))
        except NoLimit:  # no limit to respect on that server
            leases = None
    if engines:
        if TEMPORARY is not None:
            say("simulating the first variants (not in the cache) while the server starts")
        stored = _result_storage()
        head_start.begin(
            head_start.HeadStart(
                plan.variants,
                engines,
                lambda variant: simulate_variant(variant, plan.options),
                skip=lambda variant: (stored / variant.cache_key).exists(),  # the flow reuses it
            ),
            leases,
        )
    if TEMPORARY is not None:
        TEMPORARY.start()  # boots beside the first engines, not in the way of the checks
    return plan.folder


def _result_storage() -> Path:
    """Where Prefect keeps task results (its local storage setting, read without Prefect)."""
    for key in ("PREFECT_RESULTS_LOCAL_STORAGE_PATH", "PREFECT_LOCAL_STORAGE_PATH"):
        if os.environ.get(key):
            return Path(os.environ[key]).expanduser()
    return Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser() / "storage"


def _prepare_prefect() -> str | None:
    """Prefect's environment for this run, set before Prefect is imported; the API it uses."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    api = _find_server()
    os.environ.update(lean_client_env(api, get_settings().cache_dir))
    return api


def _wait_for_server(api: str | None) -> None:
    """The run's own server, or a plain-HTTP one the user named, must answer before the flow
    starts: else exit 4 with a message, not a traceback with exit 1 after Prefect's retries.
    (https servers, Prefect Cloud among them, may need the user's CA or credentials for
    ``/health``: left to Prefect.)"""
    if TEMPORARY is not None:
        TEMPORARY.wait()
    elif api and api.startswith("http://"):
        try:
            wait_healthy(api, timeout_s=NAMED_SERVER_WAIT_S)
        except ServerUnavailable:
            raise ServerUnavailable(
                f"no Prefect server answers at {api} (PREFECT_API_URL or the active Prefect"
                " profile): start one (`epbatch server`), or unset it and the run starts its own"
            ) from None


@contextmanager
def _without_flow_heartbeats() -> Iterator[None]:
    """Prefect's flow heartbeat thread sleeps in 1 s steps and is joined as the flow ends,
    which cost 0.5 s on average at the end of every batch; the heartbeats only serve an
    automation that marks silent runs crashed. Kept if PREFECT_FLOWS_HEARTBEAT_FREQUENCY is set.
    """
    if any(k in os.environ for k in HEARTBEAT_SETTINGS):
        yield
        return
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


@contextmanager
def _progress_bar() -> Iterator[None]:
    """A terminal progress bar fed by the batch's progress updates."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        refresh_per_second=2,  # the default 10 costs CPU the engines could use
        console=Console(stderr=True),  # stdout holds the results only
    ) as bar:
        task = bar.add_task("variants", total=None, detail="")

        def show(progress: BatchProgress) -> None:
            _say_planned(progress.batch_id, progress.total, progress.slots, progress.folder)
            eta = progress.eta_s
            bar.update(
                task,
                total=progress.total,
                completed=progress.done,
                detail=f"failed {progress.failed}, running {progress.running}"
                + (f", ETA {eta:.0f} s" if eta is not None else ""),
            )

        unsubscribe = subscribe(show)
        try:
            yield
        finally:
            unsubscribe()


def _find_server() -> str | None:
    """The API this run reports to: the server the user named, else an ``epbatch server`` on
    the default port, else a temporary server of this run (started once the inputs are valid).
    """
    global TEMPORARY
    named = os.environ.get("PREFECT_API_URL") or profile_api_url()
    if named:
        say(f"reporting to the Prefect server at {named}")
        return named
    url = api_url("127.0.0.1", DEFAULT_PORT)
    if is_healthy(url):
        os.environ["PREFECT_API_URL"] = url
        say(f"reporting to the Prefect server at {url} (its UI: {url.removesuffix('/api')})")
        return url
    TEMPORARY = TemporaryServer()
    os.environ.update(TEMPORARY.client_env())
    say(f"starting a Prefect server for this run (none at {url}; `epbatch server` keeps one)")
    return TEMPORARY.url


def _run(study_file: Path, slots: int | None, runner: RunnerName | None, api: str | None) -> int:
    from epbatch.variants.plan import StorageError
    from flows.batch import run_batch  # Prefect loads only when a batch runs

    _wait_for_server(api)
    FLOW_STARTED.set()
    _quiet_prefect_console()
    try:
        with _progress_bar(), _without_flow_heartbeats():
            summary = run_batch(str(study_file), slots, runner)
    except StorageError as error:  # the results tables are on disk; only the database failed
        print(f"epbatch: {error}", file=sys.stderr)
        return 3
    finally:
        _drain_prefect()
    _report(summary)
    return 0 if summary.failed == summary.skipped == 0 else 1


def _parameters_line(study: Study) -> str:
    """``, 3 parameters (lhs: 8 samples)`` for a study with parameters, else nothing."""
    if not study.parameters:
        return ""
    method = study.sampling.method if study.sampling else "grid"
    return (
        f", {_count(len(study.parameters), 'parameter')}"
        f" ({method}: {_count(sample_count(study), 'sample')})"
    )


def _report_sensitivity(folder: Path) -> None:
    """The batch's sensitivity indices (a Morris or Sobol study), on stderr."""
    from epbatch.results.sensitivity import SENSITIVITY_FILE, read_sensitivity, sensitivity_lines

    rows = read_sensitivity(folder)
    if rows:
        say(f"sensitivity ({rows[0]['method']}; rank 1 matters most): {folder / SENSITIVITY_FILE}")
        for line in sensitivity_lines(rows):
            say(f"  {line}")


def _report(summary: "BatchSummary") -> None:
    """The results table and the summary line on stdout; notes, the stop reason and where
    to find the run in a Prefect UI on stderr."""
    from epbatch.report.terminal import results_table
    from epbatch.store.database import database, load_results  # loaded by the batch already
    from epbatch.variants.plan import BATCH_FILE, BatchInfo

    frame = load_results(database(summary.database_url), summary.batch_id)
    info = BatchInfo.read(summary.folder / BATCH_FILE)
    print(results_table(frame, summary.design_days, info.parameters))
    print(summary)
    if (summary.folder / "report.html").is_file():
        say(f"report: {summary.folder / 'report.html'}")
    _report_sensitivity(summary.folder)
    for note in info.notes or ():
        say(f"note: {note}")
    if summary.design_days:
        say("note: design days only: the annual energy columns are 0")
        if frame[["design_heating_kw", "design_cooling_kw"]].notna().any(axis=None):
            say("      design_heating/cooling_kw: the zones' design loads (sizing), summed")
        else:
            say("      and no zone sizing in the model(s): no design loads either")
    if summary.cached:
        say(
            f"{_count(summary.cached, 'variant')} cached: outputs of the batch in cached_from"
            " (variants/<id>/out links there)"
        )
    if summary.stop_reason:
        say(summary.stop_reason)
    if TEMPORARY is not None:  # a lasting server's UI: "the flow run in the Prefect UI" links it
        say("this run's own Prefect server stopped with it: no UI keeps this run")
        say("to keep runs in a UI, start `epbatch server` (another terminal) before running")


RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")  # a run's lines: the UI has them


class _ConsoleFilter:
    """What Prefect's console handler prints during ``epbatch run``: warnings and errors of
    Prefect itself (the client, the server going away), not the run's own lines.

    A flow or task run's lines ("Beginning flow run", "Finished in state", each variant's
    result) go to the Prefect UI through the API log handler, which this filter does not touch;
    epbatch prints its own account (the progress bar, the table, the summary), and the lines
    the flow marks ``epbatch_terminal`` (a variant submitted again after the API was lost) as
    ``epbatch:`` lines. Prefect's "View at" link becomes an epbatch line when the server
    outlives the run, and is dropped when it is the run's own temporary server (no UI, gone
    with the run)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(RUN_LOGGERS):
            message = record.getMessage()
            if getattr(record, "epbatch_terminal", False):
                say(message)
            elif message.startswith("View at ") and TEMPORARY is None:
                say(f"the flow run in the Prefect UI: {message.removeprefix('View at ')}")
            return False
        return record.levelno >= logging.WARNING or not record.name.startswith("prefect")


def _quiet_prefect_console() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, _ConsoleFilter) for f in handler.filters
        ):
            handler.addFilter(_ConsoleFilter())


def _drain_prefect() -> None:
    """Send what Prefect's event and log workers hold (the task runs' last states) now,
    while the server is up: the command exits without interpreter teardown."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all()
    APILogWorker.drain_all()


def _aggregate(batch_id: str) -> int:
    from epbatch.store.aggregate import BatchNotFoundError, aggregate_saved_batch
    from epbatch.variants.plan import StorageError

    settings = get_settings()
    try:
        print(aggregate_saved_batch(settings.output_dir, batch_id, settings.resolved_database_url))
    except BatchNotFoundError as error:
        print(f"epbatch: {error}", file=sys.stderr)
        return 2
    except StorageError as error:
        print(f"epbatch: {error}", file=sys.stderr)
        return 3
    return 0


def _html_report(batch_id: str | None) -> int:
    """``epbatch report``: the batch's ``report.html`` from its saved results; prints its path."""
    from epbatch.report.html import ReportError, write_report
    from epbatch.store.aggregate import RESULTS_FILE, BatchNotFoundError, find_batch

    output_dir = get_settings().output_dir
    try:
        if batch_id:
            folder = Path(find_batch(output_dir, batch_id).folder)
        else:  # the latest finished batch: the newest results table
            tables = sorted(output_dir.glob(f"*/*/{RESULTS_FILE}"), key=lambda p: p.stat().st_mtime)
            if not tables:
                raise BatchNotFoundError(f"no finished batch in {output_dir} (no {RESULTS_FILE})")
            folder = tables[-1].parent
        print(write_report(folder))
    except (BatchNotFoundError, ReportError) as error:
        print(f"epbatch: {error}", file=sys.stderr)
        return 2
    return 0


def _status(batch_id: str | None) -> int:
    from epbatch.variants.plan import BATCH_FILE, BatchInfo

    data = read_progress(get_settings().output_dir, batch_id)
    if data is None:
        where = get_settings().output_dir
        print(f"epbatch: no batch {batch_id or ''} found in {where}", file=sys.stderr)
        return 2
    path = Path(data["folder"]) / BATCH_FILE
    info = BatchInfo.read(path) if path.is_file() else None
    if info and info.finished_at:  # stored: the batch is over; it began when it was planned
        data["finished"] = datetime.fromisoformat(info.finished_at).timestamp()
        data["started"] = datetime.fromisoformat(info.started_at).timestamp()
    print("\n".join(status_lines(data) + _server_slot_lines(data["batch_id"], data["running"])))
    return 0


def _server_slot_lines(batch_id: str, running: int) -> list[str]:
    """The server's ``energyplus`` slots by batch, if a Prefect server answers at once (the one
    named, else an ``epbatch server`` on the default port); nothing if none does."""
    from flows.holders import http_request, server_slots  # plain HTTP: Prefect is not loaded

    api = os.environ.get("PREFECT_API_URL") or profile_api_url()
    slots = server_slots(http_request(api or api_url("127.0.0.1", DEFAULT_PORT)))
    return [] if slots is None else server_slot_lines(slots, batch_id, running)


def _server(host: str, port: int, slots: int, worker: bool, database: str) -> int:
    import signal
    import subprocess

    from epbatch.ops.server import start_server

    url = api_url(host, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the children on SIGTERM too
    cluster = None
    if database != "sqlite":
        from epbatch.ops.pgcluster import LocalPostgres, PostgresError, server_binaries

        try:
            server_binaries()
        except PostgresError as error:
            if database == "postgres":
                raise
            print(f"epbatch: Prefect on SQLite ({error})", file=sys.stderr)
            database = "sqlite"
    if database != "sqlite":
        home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
        cluster = LocalPostgres(home / "epbatch-postgres")
        cluster.start()
        cluster.ensure_database("prefect")
        os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = cluster.socket_url("prefect")
    processes = [start_server(host, port)]
    try:
        wait_healthy(url, processes[0])
        os.environ["PREFECT_API_URL"] = url
        os.environ.update(lean_client_env(url, get_settings().cache_dir))  # for the worker's runs
        from deployments.bootstrap import WORK_POOL, bootstrap

        bootstrap(slots)
        if worker:
            command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL]
            processes.append(subprocess.Popen(command, start_new_session=True))
        print(
            f"Prefect UI (database: {_database_label(cluster)}): http://{host}:{port}"
            f"   work pool: {WORK_POOL}   "
            f"energyplus limit: {slots}\nexport PREFECT_API_URL={url}",
            flush=True,
        )
        return processes[0].wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        if cluster is not None:
            cluster.stop()


def _database_label(cluster: "LocalPostgres | None") -> str:
    """Which database ``epbatch server`` chose, and where it lives (no password)."""
    if cluster is not None:
        return f"PostgreSQL in {cluster.root}"
    url = os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL")
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    return url.split("@")[-1] if url else f"SQLite, {home / 'prefect.db'}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.output_dir:
        os.environ["EPBATCH_OUTPUT_DIR"] = str(args.output_dir)
    if args.database_url:
        os.environ["EPBATCH_DATABASE_URL"] = args.database_url
    get_settings.cache_clear()  # created from the environment just set
    if args.command == "status":
        return _status(args.batch_id)
    if args.command == "aggregate":
        return _aggregate(args.batch_id)
    if args.command == "report":
        return _html_report(args.batch_id)
    if args.command == "server":
        return _server(args.host, args.port, args.slots, args.worker, args.database)
    head_started: Path | None = None  # the folder of a batch given a head start
    try:
        from epbatch.study.demo import DEMO, study_path

        study = DEMO if args.command == "demo" else str(args.study)
        study_file = study_path(study, get_settings().output_dir)
        if args.slots is not None and not 1 <= args.slots <= MAX_SLOTS:
            raise StudyError("--slots", [f"must be between 1 and {MAX_SLOTS}, got {args.slots}"])
        api = _check(study_file)
        if api is not None and (TEMPORARY is not None or _holds_slots_first(api)):
            head_started = _head_start(study_file, args.slots, args.runner, api)
            _load_prefect_meanwhile()
        return _run(study_file, args.slots, args.runner, api)
    except (StudyError, EngineNotFoundError) as error:
        print(f"epbatch: invalid input:\n{error}", file=sys.stderr)
        return 2
    except ServerUnavailable as error:
        if head_started is not None:  # the batch will not run: leave nothing of it behind
            from epbatch.run import head_start

            head_start.abandon()
            shutil.rmtree(head_started, ignore_errors=True)
            for parent in (head_started.parent, head_started.parent.parent):
                with suppress(OSError):  # the study's and the output folder, if now empty
                    parent.rmdir()
        print(f"epbatch: {error}", file=sys.stderr)
        return 4
    finally:
        _stop_temporary_server()


def _stop_temporary_server() -> None:
    global TEMPORARY
    if TEMPORARY is not None:
        TEMPORARY.stop()
        TEMPORARY = None


def run_and_exit() -> None:
    """The ``epbatch`` command: ``main``, then an exit without interpreter teardown after a
    batch, invalid input or no server (tearing down Prefect, pandas and pyarrow took ~0.8 s;
    Prefect may still be loading in its thread when the run stops before its flow)."""
    code = main()
    if not FLOW_STARTED.is_set() and code not in (2, 4):  # status, aggregate, server: normal exit
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run_and_exit()
