"""pytest fixtures for testing workflows; installing the package registers them (entry point pytest11).

* ``workflow_run``: a function that runs a workflow (a builder, a model, or a file) on the embedded
  engine in virtual time, with tasks mocked in Python (``returns``, ``fails``) or by a Step
  Functions Local MockConfigFile, each run stored in the test's own temporary directory; it
  returns an ``orchestrator.testing.WorkflowRun``.
* ``sfn_endpoint`` (once per session): ``orchestrator serve`` on an ephemeral loopback port, its
  URL; ``sfn_client``: a boto3 Step Functions client pointed at it, so suites written for Step
  Functions Local run unchanged (``#TestCase`` ARNs and ``SFN_MOCK_CONFIG`` included).

    def test_a_failing_job_alerts(workflow_run):
        run = workflow_run("workflow.py", mocks={"extract": fails(exit_code=3, log=["boom"])})
        assert run.alert.subject.startswith("my-project failed at extract: exit code 3")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# orchestrator.testing is imported by the fixtures, not here: pytest loads plugins before any
# conftest.py, and the package reads settings (AWS_DEFAULT_REGION, ...) when it is imported.

SERVE_START_SECONDS = 60.0  # a cold interpreter on a loaded CI machine


@pytest.fixture
def workflow_run(tmp_path: Path) -> Callable[..., Any]:
    """``workflow_run(workflow, input=None, *, mocks=None, mock_config=None, test_case=None)``."""
    from orchestrator.testing import run_with_mocks

    count = 0

    def run(workflow: Any, input: Any = None, **options: Any) -> Any:
        nonlocal count
        count += 1
        return run_with_mocks(workflow, input, home=tmp_path / f"orchestrator-{count}", **options)

    return run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def sfn_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``orchestrator serve`` for the test session, on 127.0.0.1; its URL."""
    home = tmp_path_factory.mktemp("orchestrator-serve")
    port = _free_port()
    env = {**os.environ, "ORCHESTRATOR_HOME": str(home)}
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVE_START_SECONDS
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"orchestrator serve exited ({proc.returncode}): {(home / 'serve.log').read_text()}")
            try:
                urllib.request.urlopen(url + "/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"orchestrator serve did not answer on {url} within "
                                       f"{SERVE_START_SECONDS:g} s") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def sfn_client(sfn_endpoint: str) -> Any:
    """A boto3 Step Functions client for ``sfn_endpoint`` (fake credentials; nothing leaves the machine)."""
    boto3 = pytest.importorskip("boto3", reason="sfn_client needs boto3 (pip install 'sfn-orchestrator[aws]')")
    return boto3.client("stepfunctions", endpoint_url=sfn_endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")
