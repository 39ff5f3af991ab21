"""Containers for local Batch: whether to use them, and getting each job's image.

One setting decides, ``ORCHESTRATOR_CONTAINERS`` (or ``orchestrator run --containers``):

* ``auto`` (default): a job runs in its container when a Docker engine answers and its image is
  present, can be built from the project's Dockerfile (the task's ``build``) or pulled; otherwise
  it runs as a host process in the project directory, and one line says which image and why;
* ``always``: a job whose image cannot be had fails its attempt as AWS Batch fails it, with
  ``CannotPullContainerError: ...`` as its reason (the compiled ``retryStrategy`` retries that);
* ``never``: host processes, images unused.

Each image is looked at once per run (a build or a pull is not repeated per job or attempt), and a
build's output is kept in the store's logs (``logs/builds/<image>.log``).

    >>> container_mode("never")
    <ContainerMode.NEVER: 'never'>
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import OrchestratorError

CONTAINERS_ENV = "ORCHESTRATOR_CONTAINERS"
ENGINE_TIMEOUT_SECONDS = 10.0  # `docker info`; an engine that does not answer in this is not there
PULL_TIMEOUT_SECONDS = 600.0
BUILD_TIMEOUT_SECONDS = 3600.0

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class ContainerMode(enum.Enum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


class ContainerSettingError(OrchestratorError):
    """``ORCHESTRATOR_CONTAINERS`` / ``--containers`` has a value that is not a mode."""


def container_mode(value: str | None = None) -> ContainerMode:
    """The mode given, else ``ORCHESTRATOR_CONTAINERS``, else ``auto``."""
    text = (value if value is not None else os.environ.get(CONTAINERS_ENV, "")).strip().lower() or "auto"
    try:
        return ContainerMode(text)
    except ValueError:
        choices = ", ".join(m.value for m in ContainerMode)
        raise ContainerSettingError(
            f"{CONTAINERS_ENV}={text!r} is not a container mode; use one of {choices} "
            f"(for example {CONTAINERS_ENV}=auto)") from None


@dataclass(frozen=True, slots=True)
class ImageBuildSpec:
    """A build context and Dockerfile, both relative to the project directory."""

    context: str
    dockerfile: str = "Dockerfile"

    @classmethod
    def from_plan(cls, value: Mapping[str, str] | None) -> ImageBuildSpec | None:
        if not value:
            return None
        return cls(context=value["context"], dockerfile=value.get("dockerfile") or "Dockerfile")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


class Images:
    """The Docker engine and the images of one run (thread-safe; each image decided once)."""

    def __init__(self, cwd: str, build_logs: Path, *, runner: Runner | None = None) -> None:
        self.cwd = cwd
        self.build_logs = build_logs
        self._run: Runner = runner or subprocess.run
        self._lock = threading.Lock()
        self._engine: str | None | bool = False  # False: not asked yet
        self._decided: dict[str, str | None] = {}
        self._image_locks: dict[str, threading.Lock] = {}

    def engine_problem(self) -> str | None:
        """None when a Docker engine answers, else why not (asked once)."""
        with self._lock:
            if self._engine is False:
                self._engine = self._ask_engine()
            return self._engine if isinstance(self._engine, str) else None

    def _ask_engine(self) -> str | None:
        if shutil.which("docker") is None:
            return "no `docker` command on PATH"
        try:
            done = self._run(["docker", "info"], capture_output=True, text=True, timeout=ENGINE_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`docker info` did not answer ({exc})"
        if done.returncode != 0:
            return f"no Docker engine answered (`docker info`: {_last_line(done.stderr or done.stdout)})"
        return None

    def problem(self, image: str, build: ImageBuildSpec | None) -> str | None:
        """None when ``image`` can be run (present, built or pulled), else why not."""
        engine = self.engine_problem()
        if engine is not None:
            return engine
        with self._lock:
            if image in self._decided:
                return self._decided[image]
            lock = self._image_locks.setdefault(image, threading.Lock())
        with lock:  # one build or pull per image, however many jobs ask at once
            with self._lock:
                if image in self._decided:
                    return self._decided[image]
            answer = self._obtain(image, build)
            with self._lock:
                self._decided[image] = answer
            return answer

    def _present(self, image: str) -> bool:
        try:
            done = self._run(["docker", "image", "inspect", image], capture_output=True, text=True,
                             timeout=ENGINE_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0

    def _obtain(self, image: str, build: ImageBuildSpec | None) -> str | None:
        if build is not None:
            built = self._build(image, build)
            if built is None:
                return None
            # A stale image is better than none, but say the build failed.
            return None if self._present(image) else built
        if self._present(image):
            return None
        try:
            done = self._run(["docker", "pull", image], capture_output=True, text=True, timeout=PULL_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"image {image} is not on this machine and `docker pull` failed ({exc})"
        if done.returncode != 0:
            return f"image {image} is not on this machine and `docker pull` failed: {_last_line(done.stderr)}"
        return None

    def build_log(self, image: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in image)
        return self.build_logs / f"{safe}.log"

    def _build(self, image: str, build: ImageBuildSpec) -> str | None:
        context = Path(self.cwd, build.context)
        dockerfile = context / build.dockerfile
        if not dockerfile.is_file():
            return f"image {image} is to be built from {Path(build.context, build.dockerfile)}, which does not exist"
        log = self.build_log(image)
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            done = self._run(["docker", "build", "-t", image, "-f", str(dockerfile), str(context)],
                             capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.write_text(f"docker build did not finish: {exc}\n")
            return f"`docker build` of {image} did not finish ({exc}); log: {log}"
        log.write_text((done.stdout or "") + (done.stderr or ""))
        if done.returncode != 0:
            return f"`docker build` of {image} failed: {_last_line(done.stderr or done.stdout)} (log: {log})"
        return None
