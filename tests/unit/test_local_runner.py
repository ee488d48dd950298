"""The local runner's process handling, with a stand-in executable (the real engine's runs are
in tests/engine)."""

import os
import stat
from pathlib import Path

from epbatch.run.runners.base import SimulationJob
from epbatch.run.runners.local import ENGINE_NICENESS, LOG_NAME, LocalRunner


def test_the_engine_runs_below_the_orchestrations_priority(tmp_path: Path):
    fake = tmp_path / "energyplus"
    fake.write_text("#!/bin/sh\nsleep 0.3\necho nice=$(cut -d' ' -f19 /proc/$$/stat)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    job = SimulationJob(
        fake, tmp_path / "in.idf", tmp_path / "in.epw", tmp_path / "out", "run-period", 30
    )
    outcome = LocalRunner().run(job)
    assert outcome.exit_code == 0
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + ENGINE_NICENESS)
    assert (tmp_path / "out" / LOG_NAME).read_text().strip() == f"nice={expected}"
    assert os.getpriority(os.PRIO_PROCESS, 0) != expected  # this process is left alone
