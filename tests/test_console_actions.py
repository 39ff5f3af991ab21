"""The console's actions are Step Functions API calls on ``orchestrator serve``'s app: the exact
requests the page's script makes work, and a page on another site cannot make them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from orchestrator.server.app import create_app
from orchestrator.server.service import Service
from tests.server_support import PASS_CHOICE, ROLE

PAGE_HEADERS = {"Content-Type": "application/x-amz-json-1.0", "Origin": "http://127.0.0.1:8083",
                "Sec-Fetch-Site": "same-origin"}
WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[tuple[TestClient, Service]]:
    service = Service(home=tmp_path / "home")
    try:
        yield TestClient(create_app(service), base_url="http://127.0.0.1:8083"), service
    finally:
        service.close(wait=5)


def call(client: TestClient, operation: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    """One call shaped as console.js's ``sfn()`` sends it."""
    return client.post("/", content=json.dumps(body),
                       headers={**(headers or PAGE_HEADERS), "X-Amz-Target": f"AWSStepFunctions.{operation}"})


def machine(service: Service, name: str, definition: dict[str, Any]) -> str:
    arn: str = service.create_state_machine({"name": name, "definition": json.dumps(definition),
                                             "roleArn": ROLE})["stateMachineArn"]
    return arn


def test_the_pages_requests_start_stop_and_redrive(app: tuple[TestClient, Service]) -> None:
    client, service = app
    quick = machine(service, "quick", PASS_CHOICE)
    started = call(client, "StartExecution", {"stateMachineArn": quick, "input": '{"n": 2}', "name": "from-page"})
    assert started.status_code == 200
    arn = started.json()["executionArn"]
    assert service.wait(arn, 30)["status"] == "SUCCEEDED"
    # What the console shows is what the API wrote.
    detail = client.get("/console/api/execution", params={"arn": arn}).json()
    assert detail["execution"]["status"] == "SUCCEEDED" and detail["execution"]["input"] == {"n": 2}
    assert {s["name"]: s["status"] for s in detail["states"]} == {"Route": "SUCCEEDED", "Big": "SUCCEEDED"}
    assert {n["id"] for n in detail["graph"]["nodes"]} == {"Route", "Big", "Small"}  # a machine made by the API

    slow = machine(service, "slow", WAIT)
    running = call(client, "StartExecution", {"stateMachineArn": slow, "input": "{}"}).json()["executionArn"]
    stopped = call(client, "StopExecution", {"executionArn": running, "error": "Console.Stopped",
                                             "cause": "Stopped from the console."})
    assert stopped.status_code == 200
    deadline = time.monotonic() + 30
    while service.store.execution(running).status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
    detail = client.get("/console/api/execution", params={"arn": running}).json()
    assert detail["execution"]["status"] == "ABORTED" and detail["execution"]["redrivable"] is True
    assert detail["states"][0]["status"] == "ABORTED"
    redriven = call(client, "RedriveExecution", {"executionArn": running})
    assert redriven.status_code == 200
    assert service.store.execution(running).redrive_count == 1


def test_another_site_cannot_act(app: tuple[TestClient, Service]) -> None:
    client, service = app
    quick = machine(service, "quick", PASS_CHOICE)
    # The awsJson content type and X-Amz-Target make a cross-site fetch preflight; it is never granted.
    preflight = client.options("/", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type,x-amz-target"})
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400
    # What a page elsewhere can send without a preflight (a form post) names no operation.
    form = client.post("/", content=json.dumps({"stateMachineArn": quick}),
                       headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert form.status_code == 400 and "access-control-allow-origin" not in form.headers
    assert service.list_executions({"stateMachineArn": quick})["executions"] == []
