"""The one settings object, read from ``EPBATCH_*`` environment variables."""

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from epbatch.run.runners.base import RunnerName

KeepOutputs = Literal["sql-err", "err", "all"]


def _default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "epbatch"


class Settings(BaseSettings):
    """Machine-level configuration; study files hold what varies per study."""

    model_config = SettingsConfigDict(env_prefix="EPBATCH_", env_file=".env", extra="ignore")

    output_dir: Path = Path("epbatch-runs")
    database_url: str | None = None
    energyplus: Path | None = None
    runner: RunnerName = "local"
    timeout_s: float = 3600.0
    docker_image: str = "epbatch-energyplus:25.2.0"
    docker_memory: str = "1g"
    docker_cpus: float = 1.0
    keep_outputs: KeepOutputs = "sql-err"  # retention of a succeeded variant's outputs
    dask_address: str | None = None  # e.g. tcp://scheduler:8786: simulations on a Dask cluster
    cache_dir: Path = Field(default_factory=_default_cache_dir)  # eppy's parsed IDD

    @property
    def resolved_database_url(self) -> str:
        """``database_url``, or an SQLite file in the output folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.output_dir / 'epbatch.sqlite').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, created on first use."""
    return Settings()
