"""Run EnergyPlus in a throwaway container: no network, capped memory and CPU, the caller's uid.

The image (``docker/energyplus.Dockerfile``, built by ``docker/build-images.sh``) holds the engine
at ``ENGINE``. The variant's input folder and weather file are mounted read-only, its output
folder read-write; the container is removed however the run ends.
"""

import contextlib
import os
import time
from pathlib import Path

import docker
import requests
from docker.errors import APIError
from docker.models.containers import Container

from epbatch.run.runners.base import RunOutcome, SimulationJob
from epbatch.run.runners.local import LOG_NAME
from epbatch.settings import get_settings

ENGINE = "/opt/energyplus/energyplus"
INPUT_DIR, WEATHER_DIR, OUTPUT_DIR = "/in", "/weather", "/out"


def create_container(
    client: docker.DockerClient, job: SimulationJob, image: str, user: str, memory: str, cpus: float
) -> Container:
    epw = f"{WEATHER_DIR}/{job.epw.name}"
    return client.containers.create(
        image,
        job.arguments(f"{INPUT_DIR}/{job.idf.name}", epw, OUTPUT_DIR),
        entrypoint=[ENGINE],
        user=user,
        working_dir=OUTPUT_DIR,
        volumes={
            str(job.idf.parent.resolve()): {"bind": INPUT_DIR, "mode": "ro"},
            str(job.epw.resolve()): {"bind": epw, "mode": "ro"},
            str(job.out_dir.resolve()): {"bind": OUTPUT_DIR, "mode": "rw"},
        },
        network_disabled=True,
        network_mode="none",
        mem_limit=memory,
        memswap_limit=memory,  # no swap beyond the memory cap
        nano_cpus=int(cpus * 1e9),
        labels={"epbatch.runner": "docker"},
    )


def wait_container(container: Container, timeout_s: float) -> tuple[int, bool]:
    """The container's exit status, and whether it had to be killed at ``timeout_s``."""
    try:
        return container.wait(timeout=timeout_s)["StatusCode"], False
    # over the Unix socket, the read timeout arrives as a ConnectionError
    except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
        with contextlib.suppress(APIError):  # it may have ended meanwhile
            container.kill()
        return container.wait()["StatusCode"], True


def save_logs(container: Container, log: Path, limit: int = 2000) -> str:
    """Write the engine's output to ``log`` (as the local runner does); return its tail."""
    output = container.logs(stdout=True, stderr=True)
    log.write_bytes(output)
    return output[-limit:].decode("utf-8", "replace")


def exit_code(status: int) -> int:
    """Docker reports death by signal N as 128 + N; subprocess, and so ``simulate``, as -N.

    (An own exit status above 128 reads as a signal too; EnergyPlus exits with 0 or 1.)
    """
    return -(status - 128) if 128 < status <= 128 + 64 else status


class DockerRunner:
    """One container per variant, from ``Settings.docker_image`` unless given another image.

    ``job.executable`` (a host path) is not used: the engine is the image's ``ENGINE``.
    """

    def __init__(
        self,
        image: str | None = None,
        *,
        user: str | None = None,
        memory: str | None = None,
        cpus: float | None = None,
    ) -> None:
        settings = get_settings()
        self.image = image or settings.docker_image
        self.user = user or f"{os.getuid()}:{os.getgid()}"  # outputs owned by the caller
        self.memory = memory or settings.docker_memory
        self.cpus = cpus or settings.docker_cpus

    def run(self, job: SimulationJob) -> RunOutcome:
        job.out_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with contextlib.closing(docker.from_env()) as client:
            container = create_container(client, job, self.image, self.user, self.memory, self.cpus)
            try:
                container.start()
                status, timed_out = wait_container(container, job.timeout_s)
                runtime = time.perf_counter() - start
                tail = save_logs(container, job.out_dir / LOG_NAME)
            finally:
                container.remove(force=True)
        return RunOutcome(exit_code(status), runtime, timed_out, tail)
