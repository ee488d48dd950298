"""One runner interface, several backends, chosen by name."""

from collections.abc import Callable

from epbatch.run.runners.base import Runner, RunOutcome, SimulationJob
from epbatch.run.runners.local import LocalRunner

__all__ = ["LocalRunner", "RunOutcome", "Runner", "SimulationJob", "get_runner"]


def _docker_runner() -> Runner:
    from epbatch.run.runners.docker import DockerRunner  # the Docker SDK (~0.2 s) only when used

    return DockerRunner()


def get_runner(name: str) -> Runner:
    """The runner backend called ``name``."""
    runners: dict[str, Callable[[], Runner]] = {"local": LocalRunner, "docker": _docker_runner}
    try:
        return runners[name]()
    except KeyError:
        raise ValueError(f"unknown runner {name!r}; choose from {sorted(runners)}") from None
