"""Local Batch in real containers: a Docker engine, an image built here (no registry needed).

The image is a busybox root filesystem imported with ``docker import`` (Debian's busybox-static),
so nothing is pulled. Skipped, saying why, when no engine answers or no static busybox exists;
``.ci/run`` installs and starts both when the machine allows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.engine.integrations import TaskFailure
from orchestrator.local.batch import JobDefinition, LocalBatch
from orchestrator.local.store import Store
from tests.test_local_batch import call, submit

IMAGE = "orchestrator-test-busybox:1"
ROOT = Path(__file__).resolve().parents[1]


def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def _engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no `docker` command on PATH"
    try:
        done = _docker("info", timeout=15)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker info` did not answer ({exc})"
    return None if done.returncode == 0 else "no Docker engine answers (`docker info` failed)"


def _static_busybox() -> str | None:
    found = shutil.which("busybox") or ("/bin/busybox" if os.path.exists("/bin/busybox") else None)
    if found is None:
        return None
    with open(found, "rb") as f:
        head = f.read(8192)
    return None if b"ld-linux" in head or b"/lib/ld-" in head else found  # dynamic: no good in an empty image


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    problem = _engine_problem()
    if problem:
        pytest.skip(f"container tests need a Docker engine: {problem} (.ci/run starts dockerd when it can)")
    busybox = _static_busybox()
    if busybox is None:
        pytest.skip("container tests need a static busybox (Debian's busybox-static) to build their image")
    root = tmp_path_factory.mktemp("rootfs")
    (root / "bin").mkdir()
    shutil.copy(busybox, root / "bin" / "busybox")
    for tool in ("sh", "cat", "echo", "sleep", "env", "true", "printf", "ls"):
        (root / "bin" / tool).symlink_to("busybox")
    (root / "marker").write_text("inside the image\n")
    archive = tmp_path_factory.mktemp("image") / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root, arcname=".")
    done = subprocess.run(["docker", "import", str(archive), IMAGE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    yield IMAGE


def _containers(name_part: str = "orchestrator-", *, running: bool = False) -> list[str]:
    out = _docker("ps", *(() if running else ("-a",)), "--filter", f"name={name_part}",
                  "--format", "{{.Names}}").stdout
    return [line for line in out.splitlines() if line.strip()]


def _batch(tmp_path: Path, *definitions: JobDefinition, mode: str = "always",
           notes: list[str] | None = None) -> LocalBatch:
    os.environ["ORCHESTRATOR_CONTAINERS"] = mode
    try:
        return LocalBatch(Store(tmp_path / "home"), {d.name: d for d in definitions}, cwd=str(tmp_path),
                          notice=(notes.append if notes is not None else lambda text: None))
    finally:
        del os.environ["ORCHESTRATOR_CONTAINERS"]


def _log(batch: LocalBatch, job: dict[str, Any]) -> str:
    return (batch.store.logs_dir / "batch" / job["Container"]["LogStreamName"]).read_text()


def _task_id(job: dict[str, Any]) -> str:
    return str(job["Container"]["LogStreamName"]).rsplit("/", 1)[-1]


def test_a_job_runs_in_its_image_with_its_limits(image: str, tmp_path: Path) -> None:
    script = ("cat /marker; "
              "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
              "cat /sys/fs/cgroup/cpu.max 2>/dev/null || "
              "echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)")
    batch = _batch(tmp_path, JobDefinition(name="jd", image=image, command=("sh", "-c", script),
                                           vcpus=0.5, memory=64))
    job = batch(call(submit()))
    assert job["Status"] == "SUCCEEDED"
    marker, memory, cpu = _log(batch, job).splitlines()
    assert marker == "inside the image"
    assert int(memory) == 64 * 1024 * 1024
    quota, period = (int(x) for x in cpu.split())
    assert quota / period == 0.5
    assert not _containers(_task_id(job))  # --rm: nothing left behind


def test_environment_and_overrides_reach_the_container(image: str, tmp_path: Path) -> None:
    batch = _batch(tmp_path, JobDefinition(name="jd", image=image, environment={"A": "from-definition"},
                                           command=("sh", "-c", "echo $A $B $AWS_BATCH_JOB_ATTEMPT $PWD")))
    overrides = {"ContainerOverrides": {"Environment": [{"Name": "B", "Value": "from-override"}]}}
    job = batch(call(submit() | overrides))
    assert _log(batch, job).split() == ["from-definition", "from-override", "1", str(tmp_path)]


def test_exit_code_and_log_are_batchs(image: str, tmp_path: Path) -> None:
    batch = _batch(tmp_path, JobDefinition(name="jd", image=image, command=("sh", "-c", "echo boom >&2; exit 3")))
    with pytest.raises(TaskFailure) as failed:
        batch(call(submit()))
    job = json.loads(failed.value.cause)
    assert job["Status"] == "FAILED"
    assert job["StatusReason"] == "Essential container in task exited"
    assert [a["Container"]["ExitCode"] for a in job["Attempts"]] == [3]
    assert _log(batch, job) == "boom\n"
    assert not _containers(_task_id(job))


def test_the_attempt_timeout_stops_the_container(image: str, tmp_path: Path) -> None:
    batch = _batch(tmp_path, JobDefinition(name="jd", image=image, command=("sleep", "60"), timeout=1))
    batch._grace = 1.0
    t0 = time.monotonic()
    with pytest.raises(TaskFailure) as failed:
        batch(call(submit()))
    job = json.loads(failed.value.cause)
    assert job["StatusReason"] == "Job attempt duration exceeded timeout"
    assert time.monotonic() - t0 < 30
    assert not _containers(_task_id(job))


def test_an_image_built_from_the_projects_dockerfile(image: str, tmp_path: Path) -> None:
    tag = f"orchestrator-test-built:{uuid.uuid4().hex[:8]}"
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "Dockerfile").write_text(f"FROM {image}\nRUN echo built here > /built\n")
    from orchestrator.local.images import ImageBuildSpec

    try:
        batch = _batch(tmp_path, JobDefinition(name="jd", image=tag, command=("cat", "/built"),
                                               build=ImageBuildSpec(context="jobs")))
        job = batch(call(submit()))
        assert _log(batch, job) == "built here\n"
        assert "Successfully" in batch.images.build_log(tag).read_text()
    finally:
        _docker("rmi", "-f", tag)


def test_auto_runs_a_missing_image_as_a_process_and_says_why(image: str, tmp_path: Path) -> None:
    missing = f"orchestrator-test-missing-{uuid.uuid4().hex[:8]}:1"
    notes: list[str] = []
    batch = _batch(tmp_path, JobDefinition(name="jd", image=missing, command=("sh", "-c", "echo on the host")),
                   mode="auto", notes=notes)
    assert _log(batch, batch(call(submit()))) == "on the host\n"
    batch(call(submit()))
    assert len(notes) == 1
    assert notes[0].startswith(f"Batch jobs of image {missing} run as host processes in {tmp_path}: image "
                               f"{missing} is not on this machine and `docker pull` failed: ")


def test_always_fails_a_missing_image_with_cannot_pull(image: str, tmp_path: Path) -> None:
    missing = f"orchestrator-test-missing-{uuid.uuid4().hex[:8]}:1"
    batch = _batch(tmp_path, JobDefinition(name="jd", image=missing, command=("true",)))
    with pytest.raises(TaskFailure) as failed:
        batch(call(submit()))
    job = json.loads(failed.value.cause)
    assert job["StatusReason"].startswith("CannotPullContainerError: image ")
    assert job["Attempts"][0]["Container"]["Reason"] == job["StatusReason"]


RUNNER = """
import sys
from orchestrator.local.batch import JobDefinition, LocalBatch
from orchestrator.local.store import Store
batch = LocalBatch(Store(sys.argv[1]), {"jd": JobDefinition(name="jd", image=sys.argv[2], command=("sleep", "120"))},
                   use_docker=True)
batch.run_job({"JobName": "j", "JobQueue": "default", "JobDefinition": "jd"})
"""


def test_no_container_outlives_a_killed_runner(image: str, tmp_path: Path) -> None:
    before = set(_containers())
    (tmp_path / "runner.py").write_text(RUNNER)
    runner = subprocess.Popen([sys.executable, "runner.py", str(tmp_path / "home"), image], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not (set(_containers(running=True)) - before):
        assert runner.poll() is None and time.monotonic() < deadline, "the job's container never started"
        time.sleep(0.1)
    (started,) = set(_containers(running=True)) - before
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 60  # the watchdog's `docker kill`, then --rm
    while started in _containers():
        assert time.monotonic() < deadline, f"container {started} outlived its runner"
        time.sleep(0.1)


def test_the_quick_start_succeeds_with_an_engine_that_cannot_reach_a_registry(image: str, tmp_path: Path) -> None:
    # The README's first command on a laptop running Docker: the example's image is built from
    # state_machines/Dockerfile; with no registry for its base image the jobs run as processes.
    shutil.copytree(ROOT / "state_machines", tmp_path / "state_machines",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRATOR_CONTAINERS": "auto",
           "ORCHESTRATOR_HOME": str(tmp_path / ".orchestrator")}
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "run", "state_machines/nightly_sales.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "execution: SUCCEEDED" in done.stdout + done.stderr
    assert list((tmp_path / "reports").glob("weekly-sales-*.md"))
