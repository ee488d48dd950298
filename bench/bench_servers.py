"""epbatch on every server a user may have, and the seed's Celery design, on the same IDFs.

    python bench/bench_servers.py --workload w1                     # 24 x 1ZoneUncontrolled
    python bench/bench_servers.py --workload w2                     # the real models, mixed
    python bench/bench_servers.py --workload w1 --only alone,celery --rounds 1 --variants 4

Each round plans the variant IDFs once (``plan_batch``) and times, one after the other and each
on fresh result storage (``PREFECT_LOCAL_STORAGE_PATH``) and a fresh output folder:

- ``alone``: the engine alone, ``xargs -P SLOTS`` (every ratio is to this run of the round; with
  ``--paired``, it runs right before each contender, and each ratio is to that run: on a host
  whose speed drifts by tens of % within a round, as this one's did);
- ``epbatch-server``: ``epbatch run`` reporting to an ``epbatch server --database postgres``;
- ``stock``: ``epbatch run`` reporting to a stock ``prefect server start`` (SQLite, Prefect's
  default settings) with ``prefect concurrency-limit create energyplus SLOTS``;
- ``cold``: ``epbatch run`` with no server, a new empty ``PREFECT_HOME`` and ``EPBATCH_CACHE_DIR``
  (a newcomer's very first run: the run starts its own temporary server);
- ``bare``: bare_prefect_flow.py reporting to the ``epbatch server``: the least Prefect flow of
  epbatch's design (one task run per engine under the ``energyplus`` limit, nothing else), the
  floor of any design that runs a Prefect task per variant in the client's process;
- ``celery``: celery_batch.py, a minimal rebuild of the seed's Celery + Redis design (one task
  per variant, ``worker --concurrency=SLOTS --pool=prefork``, a chord whose callback collects
  the results); only the client submitting the chord and waiting for its result is timed.

The servers, Redis and the Celery worker start once before the rounds (in temporary folders)
and stop at the end; ``alone`` runs first in every round, the others' order rotates per round.
Every engine runs through bench_trace.py's tracing wrapper, so each run also reports the time
to the first engine, the mean idle gap per slot hand-over (on a mixed batch it includes the
slots' imbalance at the end), the tail (last engine's end to exit), "engine x" (the mean
engine run time / the alone run's: how much the engines were slowed), the client's own CPU per
variant and the server's per variant: the ``epbatch server`` tree plus its PostgreSQL, the
stock server's tree, the Celery worker (pool included, engines not) plus Redis.

Workloads: ``w1`` = ``--variants`` (24) x 1ZoneUncontrolled annual, Golden weather; ``w2`` =
{1ZoneUncontrolled, 5ZoneAirCooled, RefBldgWarehouseNew2004_Chicago, epbatch's demo shoebox} x
{baseline, two wall insulations}, Chicago weather, annual. Needs Debian's ``redis-server``
(``apt-get install -y redis-server``) for ``celery``, PostgreSQL's server binaries for
``epbatch-server``, and no server on 127.0.0.1:4200 for ``cold``.
"""

import argparse
import contextlib
import dataclasses
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml
from bench_batch import engine_lines, study_file, tree_cpu
from bench_trace import Trace, shadow_engine, traced

from epbatch.ops.server import DEFAULT_PORT, api_url, is_healthy, wait_healthy
from epbatch.run.engine import find_engine
from epbatch.settings import Settings
from epbatch.study.demo_model import write_demo_model
from epbatch.variants.generate import Variant
from epbatch.variants.plan import plan_batch

BENCH = Path(__file__).resolve().parent
MODELS = BENCH.parent.parent / "shared" / "models"  # ../shared/models from the project root
CONTENDERS = ("alone", "epbatch-server", "bare", "stock", "cold", "celery")
GOLDEN = "USA_CO_Golden-NREL.724666_TMY3.epw"
CHICAGO = "USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw"
W2_MODELS = ("1ZoneUncontrolled.idf", "5ZoneAirCooled.idf", "RefBldgWarehouseNew2004_Chicago.idf")
PREFECT_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
START_TIMEOUT_S = 180.0
LOG_TAIL_LINES = 20


class BenchError(RuntimeError):
    """A service did not start or a contender failed; the message says where its log is."""


@dataclasses.dataclass
class Service:
    """A process the bench started (its own process group) and whose CPU counts as a server's."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_timeout_s: float = 30.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                print(f"{self.name}: no exit {self.stop_timeout_s:.0f} s after SIGTERM: SIGKILL")
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # what its process group left behind
            os.killpg(self.process.pid, signal.SIGTERM)


@dataclasses.dataclass
class Contender:
    name: str
    env: dict[str, str]  # on top of the bench's environment, for every round
    server_pids: list[int]  # their process trees' CPU is this contender's server CPU


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tail(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
    return "\n".join(f"    {line}" for line in lines)


def start_service(
    name: str, command: list[str], log: Path, env: dict[str, str] | None = None
) -> Service:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the bench only; it stops them in order
        )
    return Service(name, process, log)


def wait_for_line(service: Service, text: str) -> str:
    """The first line of the service's log that contains ``text`` (e.g. its API URL)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in service.log.read_text(errors="replace").splitlines():
            if text in line:
                return line
        if service.process.poll() is not None:
            break
        time.sleep(0.3)
    raise BenchError(f"{service.name} did not print {text!r}; its log:\n{tail(service.log)}")


def clean_environment(real_engine: Path, wrapper: Path, trace: Path, cache: Path) -> None:
    """The bench's own environment, inherited by everything it starts: none of the user's
    Prefect or epbatch settings, the tracing engine, the bench's epbatch cache."""
    for key in [k for k in os.environ if k.startswith(("PREFECT_", "EPBATCH_"))]:
        del os.environ[key]
    os.environ.update(
        PREFECT_ENV,
        EPBATCH_TRACE=str(trace),
        EPBATCH_REAL_ENGINE=str(real_engine),
        EPBATCH_ENERGYPLUS=str(wrapper),
        EPBATCH_CACHE_DIR=str(cache),
    )


def start_epbatch_server(root: Path, slots: int, services: list[Service]) -> Contender:
    """``epbatch server --database postgres`` with its own PREFECT_HOME."""
    home = root / "epbatch-server-home"
    port = free_port()
    command = [sys.executable, "-m", "epbatch.ops.cli", "server", "--port", str(port)]
    command += ["--slots", str(slots), "--database", "postgres"]
    env = dict(os.environ, PREFECT_HOME=str(home))
    service = start_service("epbatch server", command, root / "epbatch-server.log", env)
    service.stop_timeout_s = 60
    services.append(service)
    line = wait_for_line(service, "export PREFECT_API_URL=")
    url = line.split("=", 1)[1].strip()
    pids = [service.process.pid]
    postmaster = home / "epbatch-postgres" / "data" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError):  # pg_ctl starts it outside the server's tree
        pids.append(int(postmaster.read_text().split()[0]))
    print(f"epbatch server: {url} (pid {pids[0]}, PostgreSQL pid {pids[1:] or 'unknown'})")
    return Contender("epbatch-server", {"PREFECT_API_URL": url}, pids)


def start_stock_server(root: Path, slots: int, services: list[Service]) -> Contender:
    """``prefect server start`` with Prefect's defaults (SQLite in a new PREFECT_HOME), and
    the ``energyplus`` tag's concurrency limit."""
    home = root / "stock-home"
    port = free_port()
    url = api_url("127.0.0.1", port)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    env = dict(os.environ, PREFECT_HOME=str(home))
    service = start_service("prefect server", command, root / "stock-server.log", env)
    services.append(service)
    try:
        wait_healthy(url, service.process, timeout_s=START_TIMEOUT_S)
    except Exception as error:
        raise BenchError(f"stock prefect server: {error}; its log:\n{tail(service.log)}") from None
    limit = [sys.executable, "-m", "prefect", "concurrency-limit", "create", "energyplus"]
    subprocess.run(
        [*limit, str(slots)],
        env=dict(env, PREFECT_API_URL=url),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"stock prefect server: {url} (pid {service.process.pid}), energyplus limit {slots}")
    return Contender("stock", {"PREFECT_API_URL": url}, [service.process.pid])


def start_celery(root: Path, slots: int, services: list[Service]) -> Contender:
    """Redis (no persistence) and one Celery worker with SLOTS prefork processes."""
    port = free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no"]
    redis = start_service("redis-server", command, root / "redis.log")
    services.append(redis)
    os.environ["EPBATCH_CELERY_REDIS"] = redis_url  # celery_batch reads it on import
    path = os.pathsep.join([str(BENCH), *filter(None, [os.environ.get("PYTHONPATH")])])
    command = [sys.executable, "-m", "celery", "-A", "celery_batch", "worker"]
    command += [f"--concurrency={slots}", "--pool=prefork", "--loglevel=WARNING"]
    env = dict(os.environ, PYTHONPATH=path)
    worker = start_service("celery worker", command, root / "celery-worker.log", env)
    services.append(worker)
    from celery_batch import app  # after EPBATCH_CELERY_REDIS is set

    deadline = time.monotonic() + START_TIMEOUT_S
    while not app.control.ping(timeout=1.0):
        for service in (redis, worker):
            if service.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"{service.name} is not ready; its log:\n{tail(service.log)}")
    pids = [worker.process.pid, redis.process.pid]
    print(f"celery worker (pid {pids[0]}, {slots} processes), redis-server {redis_url}")
    return Contender("celery", {}, pids)


def w2_study(folder: Path, models: Path, shoebox: Path, slots: int) -> Path:
    """The real models and the demo shoebox x {baseline, two wall insulations}."""
    path = study_file(folder, models / W2_MODELS[0], CHICAGO, 2, slots)
    study = yaml.safe_load(path.read_text())
    study["models"] = [str((models / m).resolve()) for m in W2_MODELS] + [str(shoebox)]
    study["construction_sets"] = {"baseline": {}, **study["construction_sets"]}
    path.write_text(yaml.safe_dump(study))
    return path


def with_output(lines: str, name: str) -> list[list[str]]:
    """``engine_lines``' command lines, each writing to ``name`` beside its ``out`` folder."""
    commands = []
    for line in lines.splitlines():
        args = shlex.split(line)
        at = args.index("-d") + 1
        args[at] = str(Path(args[at]).with_name(name))
        commands.append(args)
    return commands


@dataclasses.dataclass
class Run:
    command: list[str]
    env: dict[str, str]
    stdin: Path | None = None
    outputs: Sequence[Path] = ()  # deleted after the run


def plan_run(name: str, work: Path, study: Path, variants: Sequence[Variant], wrapper: Path) -> Run:
    """The command, environment and output folders of ``name`` in this round."""
    lines = engine_lines(variants)
    storage = {"PREFECT_LOCAL_STORAGE_PATH": str(work / f"results-{name}")}  # no cache hits
    if name == "alone":
        jobs = work / "alone.txt"
        jobs.write_text("".join(f"{shlex.join(args)}\n" for args in with_output(lines, "alone")))
        command = ["xargs", "-P", "SLOTS", "-L", "1", str(wrapper)]
        return Run(command, {}, jobs, [v.folder / "alone" for v in variants])
    if name in ("celery", "bare"):
        jobs = work / f"{name}.txt"
        jobs.write_text(
            "".join(f"{shlex.join([str(wrapper), *a])}\n" for a in with_output(lines, name))
        )
        if name == "celery":
            command = [sys.executable, str(BENCH / "celery_batch.py"), str(jobs)]
        else:
            command = [sys.executable, str(BENCH / "bare_prefect_flow.py"), "SLOTS", str(jobs)]
        return Run(command, {}, None, [v.folder / name for v in variants])
    out = work / name
    command = [sys.executable, "-m", "epbatch.ops.cli", "--output-dir", str(out), "run", str(study)]
    env = dict(storage)
    if name == "cold":  # a newcomer's very first run: no server, nothing cached
        env |= {"PREFECT_HOME": str(work / "cold-home"), "EPBATCH_CACHE_DIR": str(work / "cold")}
    return Run(command, env, None, [out, work / f"results-{name}"])


def run_contender(contender: Contender, run: Run, trace: Path, slots: int, log: Path) -> Trace:
    """``traced`` with every server process tree's CPU, not only the first's."""
    env = dict(os.environ, **contender.env, **run.env)
    if contender.name == "cold":
        env.pop("PREFECT_API_URL", None)
        if is_healthy(api_url("127.0.0.1", DEFAULT_PORT)):
            raise BenchError(f"a Prefect server answers on 127.0.0.1:{DEFAULT_PORT}: not cold")
    command = [str(slots) if arg == "SLOTS" else arg for arg in run.command]
    first, *others = contender.server_pids or [0]
    before = sum(tree_cpu(pid) for pid in others)
    with log.open("wb") as out, (run.stdin or Path(os.devnull)).open("rb") as stdin:
        kwargs: dict[str, Any] = {"env": env, "stdin": stdin, "stdout": out, "stderr": out}
        try:
            timed = traced(command, trace, slots, first or None, **kwargs)
        except subprocess.CalledProcessError as error:
            raise BenchError(
                f"{contender.name} exited with {error.returncode}; its log ({log}):\n{tail(log)}"
            ) from None
    extra = sum(tree_cpu(pid) for pid in others) - before
    for folder in run.outputs:
        shutil.rmtree(folder, ignore_errors=True)
    return dataclasses.replace(timed, server_cpu=timed.server_cpu + extra)


HEADER = (
    f"{'round':6}{'contender':16}{'wall s':>8}{'ratio':>7}{'first s':>9}{'gap ms':>8}"
    f"{'tail s':>8}{'engine x':>9}{'cpu ms/v':>10}{'server ms/v':>13}"
)


def row(r: int, name: str, t: Trace, alone: Trace, n: int, server: bool) -> str:
    server_ms = f"{t.server_cpu / n * 1000:13.0f}" if server else f"{'-':>13}"
    return (
        f"{r:<6}{name:16}{t.wall:8.2f}{t.wall / alone.wall:7.3f}{t.first_start:9.2f}"
        f"{t.handover_gap * 1000:8.0f}{t.tail:8.2f}{t.engine_mean / alone.engine_mean:9.3f}"
        f"{t.cpu / n * 1000:10.0f}{server_ms}"
    )


def rounds(
    args: argparse.Namespace,
    contenders: dict[str, Contender],
    root: Path,
    wrapper: Path,
    shoebox: Path,
) -> tuple[dict[str, list[Trace]], dict[str, list[Trace]]]:
    """Each contender's runs, and the ``alone`` run each of them is divided by (the round's
    first, or with --paired the one right before it)."""
    trace = Path(os.environ["EPBATCH_TRACE"])
    results: dict[str, list[Trace]] = {name: [] for name in contenders}
    others = [name for name in contenders if name != "alone"]
    baselines: dict[str, list[Trace]] = {name: [] for name in others}
    for r in range(1, args.rounds + 1):
        work = root / f"round-{r}"
        work.mkdir()
        if args.workload == "w1":
            model = args.models / "1ZoneUncontrolled.idf"
            study = study_file(work, model, GOLDEN, args.variants, args.slots)
        else:
            study = w2_study(work, args.models, shoebox, args.slots)
        plan = plan_batch(study, Settings(output_dir=work / "plan", energyplus=wrapper))
        variants = list(plan.variants)  # every IDF written now
        if r == 1:
            print(f"{len(variants)} variants per run\n{HEADER}", flush=True)
        shift = (r - 1) % max(1, len(others))
        order = [*others[shift:], *others[:shift]]
        if args.paired:  # the engine alone right before each contender
            order = [step for name in order for step in ("alone", name)] or ["alone"]
        else:
            order = ["alone", *order]
        for name in order:
            run = plan_run(name, work, study, variants, wrapper)
            log = root / "logs" / f"round-{r}-{name}.log"
            t = run_contender(contenders[name], run, trace, args.slots, log)
            results[name].append(t)
            if name != "alone":
                baselines[name].append(results["alone"][-1])
            server = bool(contenders[name].server_pids)
            print(row(r, name, t, results["alone"][-1], len(variants), server), flush=True)
        shutil.rmtree(work)
    return results, baselines


def summary(
    results: dict[str, list[Trace]], baselines: dict[str, list[Trace]], paired: bool
) -> None:
    rounds_run = min(len(runs) for runs in results.values())  # --paired: more alone runs
    against = "the alone run right before it" if paired else "the same round's alone"
    print(f"\nmedians over {rounds_run} rounds (ratio: wall / {against})")
    celery = results.get("celery")
    print(
        f"{'contender':16}{'ratio':>7}{'(min-max)':>14}{'first s':>9}{'gap ms':>8}"
        f"{'engine x':>9}{'wall s':>8}" + (f"{'vs celery':>11}" if celery else "")
    )
    for name, runs in results.items():
        alone = baselines.get(name, runs)
        ratios = [t.wall / a.wall for t, a in zip(runs, alone, strict=True)]
        slowed = [t.engine_mean / a.engine_mean for t, a in zip(runs, alone, strict=True)]
        # the same round's Celery run: what both did after an engine-alone run, side by side
        versus = [t.wall / c.wall for t, c in zip(runs, celery, strict=False)] if celery else []
        print(
            f"{name:16}{statistics.median(ratios):7.3f}"
            f"{f'({min(ratios):.2f}-{max(ratios):.2f})':>14}"
            f"{statistics.median(t.first_start for t in runs):9.2f}"
            f"{statistics.median(t.handover_gap for t in runs) * 1000:8.0f}"
            f"{statistics.median(slowed):9.3f}"
            f"{statistics.median(t.wall for t in runs):8.2f}"
            + (f"{statistics.median(versus):11.3f}" if versus and name != "alone" else "")
        )


def chosen(only: str | None) -> list[str]:
    names = [n.strip() for n in only.split(",")] if only else list(CONTENDERS)
    unknown = sorted(set(names) - set(CONTENDERS))
    if unknown:
        raise SystemExit(f"--only: unknown {unknown}; choose among {', '.join(CONTENDERS)}")
    return [n for n in CONTENDERS if n in names or n == "alone"]  # alone: every ratio's base


def available(names: list[str]) -> list[str]:
    """``names`` without the contenders this machine cannot run (each says why)."""
    keep = []
    for name in names:
        if name == "celery" and not shutil.which("redis-server"):
            print("celery: skipped, no redis-server (Debian: apt-get install -y redis-server)")
        elif name == "celery" and not has_package("celery"):
            print("celery: skipped, Celery is not installed (pip install -e '.[dev]')")
        elif name == "cold" and is_healthy(api_url("127.0.0.1", DEFAULT_PORT)):
            raise SystemExit(
                f"cold: a Prefect server answers on 127.0.0.1:{DEFAULT_PORT}, which every "
                "`epbatch run` would report to: stop it, or leave cold out (--only)"
            )
        else:
            keep.append(name)
    return keep


def has_package(name: str) -> bool:
    try:
        version(name)
    except PackageNotFoundError:
        return False
    return True


def describe(args: argparse.Namespace, names: list[str]) -> str:
    if args.workload == "w1":
        what = f"w1: {args.variants} x 1ZoneUncontrolled, {GOLDEN}"
    else:
        what = f"w2: {{{', '.join(m[:-4] for m in W2_MODELS)}, shoebox}} x 3 sets, {CHICAGO}"
    versions = ", ".join(f"{p} {version(p)}" for p in ("prefect", "celery") if has_package(p))
    return (
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, nproc {len(os.sched_getaffinity(0))}"
        f", {versions}\nworkload {what}, annual, {args.slots} slots, {args.rounds} rounds; "
        f"contenders: {', '.join(names)}"
    )


@contextlib.contextmanager
def started(names: list[str], root: Path, slots: int) -> Iterator[dict[str, Contender]]:
    """Every contender, its servers started; they stop (in reverse order) on the way out."""
    services: list[Service] = []
    starters = {
        "epbatch-server": start_epbatch_server,
        "stock": start_stock_server,
        "celery": start_celery,
    }
    try:
        contenders = {}
        for name in names:
            starter = starters.get(name)
            contenders[name] = (
                starter(root, slots, services) if starter else Contender(name, {}, [])
            )
        if "bare" in names:  # on the epbatch server, started for it alone if need be
            server = contenders.get("epbatch-server") or start_epbatch_server(root, slots, services)
            contenders["bare"] = dataclasses.replace(server, name="bare")
        yield contenders
    finally:
        for service in reversed(services):
            service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["w1", "w2"], default="w1")
    parser.add_argument("--variants", type=int, default=24, help="w1's variants (w2 has 12)")
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--paired",
        action="store_true",
        help="the engine alone right before each contender, each ratio to that run (a host "
        "whose speed drifts within a round)",
    )
    parser.add_argument("--only", help=f"comma-separated, of {','.join(CONTENDERS)}")
    parser.add_argument("--models", type=Path, default=MODELS, help="the real models' folder")
    args = parser.parse_args()
    names = available(chosen(args.only))
    print(describe(args, names), flush=True)
    real = find_engine(Settings().energyplus).executable
    root = Path(tempfile.mkdtemp(prefix="epbatch-servers-"))
    (root / "logs").mkdir()
    keep = True
    try:
        wrapper = shadow_engine(real, root / "engine")
        clean_environment(real, wrapper, root / "trace.txt", root / "cache")
        shoebox = write_demo_model(root / "models" / "shoebox.idf")
        with started(names, root, args.slots) as contenders:
            results, baselines = rounds(args, contenders, root, wrapper, shoebox)
        summary(results, baselines, args.paired)
        keep = False
    except BenchError as error:
        print(f"bench_servers: {error}", file=sys.stderr)
        sys.exit(1)
    finally:
        if keep:
            print(f"bench_servers: logs kept in {root / 'logs'} and {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
