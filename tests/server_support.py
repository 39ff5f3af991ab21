"""A real ``orchestrator serve`` endpoint inside the test session: uvicorn on an ephemeral port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import uvicorn
from botocore.config import Config

from orchestrator.server.app import create_app
from orchestrator.server.auth import SigV4Verifier
from orchestrator.server.service import Service

PASS_CHOICE = {
    "StartAt": "Route",
    "States": {
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
                  "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": True},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
    },
}
ROLE = "arn:aws:iam::123456789012:role/local"


@contextmanager
def running_server(service: Service, verifier: SigV4Verifier | None = None) -> Iterator[str]:
    """Serve ``service`` on 127.0.0.1 (a free port) in a thread; yields the endpoint URL."""
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without
    # it a response written in two parts waits for a delayed ACK (40 ms a request).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service, verifier=verifier), log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 20 s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def client(endpoint: str, key: str = "testing", secret: str = "testing") -> Any:
    return boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}, inject_host_prefix=False))


def create(sfn: Any, name: str, definition: dict[str, Any] | None = None, **extra: Any) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition or PASS_CHOICE), roleArn=ROLE,
                                        **extra)["stateMachineArn"]
    return arn


def wait_done(sfn: Any, execution_arn: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_arn} still RUNNING after {timeout} s")
        time.sleep(0.01)


def home(tmp_path: Path) -> Path:
    return tmp_path / "home"
