"""What a runner is given and what it returns."""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

RunMode = Literal["run-period", "design-days"]
RunnerName = Literal["local", "docker"]


@dataclass(frozen=True)
class SimulationJob:
    """One EnergyPlus invocation; outputs go to ``out_dir``."""

    executable: Path
    idf: Path
    epw: Path
    out_dir: Path
    mode: RunMode
    timeout_s: float

    def arguments(self, idf: str, epw: str, out_dir: str) -> list[str]:
        """The engine's command-line arguments, with paths as the backend sees them."""
        flags = ["-D"] if self.mode == "design-days" else []
        return [*flags, "-w", epw, "-d", out_dir, idf]


@dataclass(frozen=True)
class RunOutcome:
    """How the process ended; parsing its outputs is not the runner's job."""

    exit_code: int
    runtime_s: float
    timed_out: bool = False
    log_tail: str = ""


class Runner(Protocol):
    def run(self, job: SimulationJob) -> RunOutcome:
        """Run the job to completion or timeout; never raise for a failing simulation."""
        ...
