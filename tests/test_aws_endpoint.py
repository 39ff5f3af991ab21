"""The AWS commands against an endpoint that is not AWS, as a user drives them: the CLI as a
subprocess, a moto server on 127.0.0.1 (an ephemeral port) through ``AWS_ENDPOINT_URL``. Deploy an
example (moto has no ValidateStateMachineDefinition: the local validator stands in, with one
notice), publish versions behind alias ``live``, start it, list, describe and read its history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.compiler import compile_workflow
from orchestrator.spec import load

moto_server = pytest.importorskip("moto.server")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "state_machines/nightly_sales.py"
ROLE = "arn:aws:iam::123456789012:role/sfn"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def environment(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/nonexistent",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true",
                "PYTHONPATH": str(ROOT)})
    return env


def cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], cwd=ROOT, env=environment(endpoint),
                          capture_output=True, text=True, timeout=120)


def substitutions(tmp_path: Path, topic: str) -> Path:
    """A value for every placeholder of the example (moto does not look the ARNs up)."""
    result = compile_workflow(load(ROOT / EXAMPLE))
    values = {p[2:-1]: f"arn:aws:lambda:{REGION}:123456789012:function:{p[2:-1]}" for p in result.placeholders}
    values["AlertTopicArn"] = topic
    path = tmp_path / f"subs-{topic.rsplit(':', 1)[-1]}.json"
    path.write_text(json.dumps(values))
    return path


def client(endpoint: str) -> Any:
    import boto3

    return boto3.client("stepfunctions", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def live_version(endpoint: str, machine: str) -> str:
    sfn = client(endpoint)
    arn = f"arn:aws:states:{REGION}:123456789012:stateMachine:{machine}"
    (alias,) = sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
    routing = sfn.describe_state_machine_alias(stateMachineAliasArn=alias["stateMachineAliasArn"])
    (route,) = routing["routingConfiguration"]
    return str(route["stateMachineVersionArn"]).rsplit(":", 1)[-1]


def test_deploy_start_list_describe_history(endpoint: str, tmp_path: Path) -> None:
    first = substitutions(tmp_path, f"arn:aws:sns:{REGION}:123456789012:ops")
    done = cli(endpoint, "deploy", "--state-machine-only", EXAMPLE, "--role-arn", ROLE, "--substitutions", str(first))
    assert done.returncode == 0, done.stderr
    assert done.stderr == (f"notice: {endpoint} does not implement ValidateStateMachineDefinition; validated with "
                           "the local validator instead\n")
    assert "created" in done.stdout and "live -> version 1" in done.stdout
    assert live_version(endpoint, "nightly-sales") == "1"

    again = cli(endpoint, "deploy", "--state-machine-only", EXAMPLE, "--role-arn", ROLE, "--substitutions", str(first))
    assert again.returncode == 0 and "unchanged" in again.stdout
    assert live_version(endpoint, "nightly-sales") == "1"

    changed = substitutions(tmp_path, f"arn:aws:sns:{REGION}:123456789012:ops-2")
    updated = cli(endpoint, "deploy", "--state-machine-only", EXAMPLE, "--role-arn", ROLE, "--substitutions",
                  str(changed))
    assert updated.returncode == 0, updated.stderr
    assert "updated" in updated.stdout and "live -> version 2" in updated.stdout
    assert live_version(endpoint, "nightly-sales") == "2"

    started = cli(endpoint, "aws", "start", "nightly-sales", "--input", '{"day": "2024-06-01"}')
    assert started.returncode == 0, started.stderr
    (execution,) = [line.split(": ", 1)[1] for line in started.stdout.splitlines()
                    if line.strip().startswith("execution: ")]
    assert execution.startswith(f"arn:aws:states:{REGION}:123456789012:execution:nightly-sales:")

    listed = cli(endpoint, "aws", "executions", "list", "nightly-sales", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [e["executionArn"] for e in json.loads(listed.stdout)["executions"]] == [execution]

    shown = cli(endpoint, "aws", "executions", "show", execution)
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert described["executionArn"] == execution
    assert described["input"] == {"day": "2024-06-01"}

    history = cli(endpoint, "aws", "executions", "history", execution)
    assert history.returncode == 0, history.stderr
    events = json.loads(history.stdout)["events"]
    assert events[0]["type"] == "ExecutionStarted"


def test_an_endpoint_that_is_not_running_is_one_error_with_the_fix(tmp_path: Path) -> None:
    env = environment("http://127.0.0.1:9")
    env["AWS_MAX_ATTEMPTS"] = "1"
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "aws", "executions", "list", "nightly-sales"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == (
        "error: ListStateMachines on state machine 'nightly-sales' failed: cannot reach http://127.0.0.1:9/\n"
        "    fix: start the endpoint at http://127.0.0.1:9, or unset AWS_ENDPOINT_URL to use AWS\n"
    )


def test_deploy_to_orchestrator_serve_validates_there_and_moves_live(tmp_path: Path) -> None:
    from server_support import running_server

    from orchestrator.server.service import Service

    service = Service(home=tmp_path / "home")
    try:
        with running_server(service) as url:
            subs = substitutions(tmp_path, f"arn:aws:sns:{REGION}:123456789012:ops")
            done = cli(url, "deploy", "--state-machine-only", EXAMPLE, "--role-arn", ROLE, "--substitutions",
                       str(subs))
            assert done.returncode == 0, done.stderr
            assert done.stderr == ""  # serve implements ValidateStateMachineDefinition: no fallback
            assert "created" in done.stdout and "live -> version 1" in done.stdout
            assert live_version(url, "nightly-sales") == "1"
    finally:
        service.close()
