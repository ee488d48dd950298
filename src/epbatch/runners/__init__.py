"""One runner interface, several backends, chosen by name."""

from epbatch.runners.base import Runner, RunOutcome, SimulationJob
from epbatch.runners.local import LocalRunner

__all__ = ["LocalRunner", "RunOutcome", "Runner", "SimulationJob", "get_runner"]


def get_runner(name: str) -> Runner:
    """The runner backend called ``name``."""
    runners: dict[str, type[Runner]] = {"local": LocalRunner}
    try:
        return runners[name]()
    except KeyError:
        raise ValueError(f"unknown runner {name!r}; choose from {sorted(runners)}") from None
