"""The HTTP face: whatever arrives gets AWS's error shape, and the server keeps serving."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from orchestrator.server.app import MAX_REQUEST_BYTES
from orchestrator.server.service import Service
from tests.server_support import client, running_server


@pytest.fixture()
def endpoint(tmp_path: Path) -> Iterator[str]:
    service = Service(home=tmp_path / "home")
    with running_server(service) as url:
        yield url
    service.close()


def post(endpoint: str, body: bytes, target: str | None = "AWSStepFunctions.ListStateMachines",
         method: str = "POST") -> tuple[int, dict[str, str], Any]:
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    if target is not None:
        headers["X-Amz-Target"] = target
    conn.request(method, "/", body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    text = raw.decode()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, (
        json.loads(text) if response.getheader("content-type", "").startswith("application/x-amz-json") else text)


def still_serving(endpoint: str) -> None:
    assert client(endpoint).list_state_machines()["stateMachines"] == []


def test_a_good_request(endpoint: str) -> None:
    status, headers, body = post(endpoint, b"{}")
    assert (status, body) == (200, {"stateMachines": []})
    assert headers["content-type"] == "application/x-amz-json-1.0" and headers["x-amzn-requestid"]


@pytest.mark.parametrize(("body", "target", "code", "message"), [
    (b"{not json", "AWSStepFunctions.ListStateMachines", "SerializationException",
     "The request body is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
    (b"[1, 2]", "AWSStepFunctions.ListStateMachines", "SerializationException",
     "The request body must be a JSON object, got list"),
    (b"{}", "AWSStepFunctions.MakeCoffee", "UnknownOperationException",
     "Unknown operation: AWSStepFunctions.MakeCoffee"),
    (b"{}", "SomethingElse.ListStateMachines", "UnknownOperationException",
     "Unknown operation 'SomethingElse.ListStateMachines': send X-Amz-Target: AWSStepFunctions.<Operation>"),
    (b"{}", None, "UnknownOperationException",
     "Missing X-Amz-Target header: send X-Amz-Target: AWSStepFunctions.<Operation>"),
    (b'{"maxResults": "ten"}', "AWSStepFunctions.ListStateMachines", "SerializationException",
     "Unexpected value at 'maxResults': expected an integer, got string."),
    (b'{"maxResults": true}', "AWSStepFunctions.ListStateMachines", "SerializationException",
     "Unexpected value at 'maxResults': expected an integer, got boolean."),
    (b'{"stateMachineArn": ["a"]}', "AWSStepFunctions.DescribeStateMachine", "SerializationException",
     "Unexpected value at 'stateMachineArn': expected a string, got array."),
    (b"{}", "AWSStepFunctions.DescribeStateMachine", "ValidationException",
     "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not "
     "be null"),
    (b'{"stateMachineArn": "arn:x", "statusFilter": "DONE"}', "AWSStepFunctions.ListExecutions",
     "ValidationException", "1 validation error detected: Value 'DONE' at 'statusFilter' failed to satisfy "
     "constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, "
     "PENDING_REDRIVE]"),
    (b'{"taskToken": "t"}', "AWSStepFunctions.CreateActivity", "UnknownOperationException",
     "AWSStepFunctions.CreateActivity is not implemented by the local endpoint."),
])
def test_bad_requests_get_aws_errors(endpoint: str, body: bytes, target: str | None, code: str,
                                     message: str) -> None:
    status, headers, answer = post(endpoint, body, target)
    assert (status, answer) == (400, {"__type": code, "message": message})
    assert headers["x-amzn-errortype"] == code
    still_serving(endpoint)


def test_an_oversized_body_is_refused_unread(endpoint: str) -> None:
    status, _, answer = post(endpoint, b'{"x": "' + b"a" * MAX_REQUEST_BYTES + b'"}')
    assert status == 413
    assert answer["__type"] == "ValidationException"
    assert answer["message"].startswith(f"Request body is larger than {MAX_REQUEST_BYTES} bytes")
    still_serving(endpoint)


def test_an_internal_bug_is_a_500_not_a_dead_server(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Service, request: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setitem(__import__("orchestrator.server.service", fromlist=["OPERATIONS"]).OPERATIONS,
                        "ListStateMachines", broken)
    status, _, answer = post(endpoint, b"{}")
    assert (status, answer["__type"]) == (500, "InternalFailure")
    assert "a bug" not in answer["message"]  # no traceback or internals in the answer
    monkeypatch.undo()
    still_serving(endpoint)


def test_a_local_problem_is_answered_with_its_message(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    create = client(endpoint).create_state_machine(
        name="m", roleArn="arn:aws:iam::123456789012:role/r",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    monkeypatch.setenv("WAIT_TIME_SCALE", "fast")
    status, _, answer = post(endpoint, json.dumps({"stateMachineArn": create["stateMachineArn"]}).encode(),
                             "AWSStepFunctions.StartExecution")
    assert (status, answer["__type"]) == (400, "ValidationException")
    assert answer["message"].startswith("WAIT_TIME_SCALE='fast' is not a number of 0 or more")
    monkeypatch.delenv("WAIT_TIME_SCALE")
    assert client(endpoint).list_state_machines()["stateMachines"][0]["name"] == "m"


def test_get_serves_the_console_or_says_it_is_not_installed(endpoint: str) -> None:
    import orchestrator.console as console

    status, _, text = post(endpoint, b"", None, method="GET")
    assert status == 200
    if getattr(console, "routes", None) is None:
        assert "The web console is not installed" in text
