"""SigV4: with an access key set, only requests signed with it are served."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore import UNSIGNED
from botocore.config import Config

from orchestrator.server.auth import SigV4Verifier
from orchestrator.server.errors import ServiceError
from orchestrator.server.service import Service
from tests.server_support import client, create, running_server, wait_done

KEY, SECRET = "AKIDLOCALTEST", "local-secret"


@pytest.fixture()
def endpoint(tmp_path: Path) -> Iterator[str]:
    service = Service(home=tmp_path / "home")
    with running_server(service, SigV4Verifier(KEY, SECRET, service="states")) as url:
        yield url
    service.close()


def test_signed_boto3_works(endpoint: str) -> None:
    sfn = client(endpoint, KEY, SECRET)
    arn = create(sfn, "signed")
    done = wait_done(sfn, sfn.start_execution(stateMachineArn=arn, input='{"n": 2}')["executionArn"])
    assert done["status"] == "SUCCEEDED"


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(Exception) as caught:
        call()
    response: dict[str, Any] = getattr(caught.value, "response", {})
    return response["Error"]["Code"], response["Error"]["Message"]


def test_wrong_key_wrong_secret_and_unsigned_are_refused(endpoint: str) -> None:
    assert error_of(lambda: client(endpoint, "AKIDOTHER", SECRET).list_state_machines()) == (
        "UnrecognizedClientException", "The security token included in the request is invalid.")
    code, message = error_of(lambda: client(endpoint, KEY, "wrong").list_state_machines())
    assert code == "InvalidSignatureException"
    assert message.startswith("The request signature we calculated does not match the signature you provided.")
    import boto3

    unsigned = boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    assert error_of(unsigned.list_state_machines) == ("MissingAuthenticationTokenException",
                                                      "Missing Authentication Token")
    assert client(endpoint, KEY, SECRET).list_state_machines()["stateMachines"] == []


def test_a_replayed_signature_on_another_body_is_refused(endpoint: str) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("POST", endpoint + "/", data=b"{}", headers={
        "X-Amz-Target": "AWSStepFunctions.ListStateMachines", "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials(KEY, SECRET), "states", "us-east-1").add_auth(request)
    parts = urlsplit(endpoint)

    def send(body: bytes) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        conn.request("POST", "/", body=body, headers=dict(request.headers.items()))
        response = conn.getresponse()
        answer = json.loads(response.read())
        conn.close()
        return response.status, answer

    assert send(b"{}") == (200, {"stateMachines": []})
    status, answer = send(b'{"maxResults": 1}')
    assert (status, answer["__type"]) == (403, "InvalidSignatureException")


def test_verifier_errors() -> None:
    verifier = SigV4Verifier(KEY, SECRET, service="states")
    with pytest.raises(ServiceError, match="IncompleteSignatureException: Authorization header requires"):
        verifier.verify("POST", "/", "", [("authorization", "Basic abc"), ("host", "h")], b"")
    header = (f"AWS4-HMAC-SHA256 Credential={KEY}/20200101/us-east-1/states/aws4_request, "
              "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
    with pytest.raises(ServiceError, match="InvalidSignatureException: Signature expired: 20200101T000000Z"):
        verifier.verify("POST", "/", "", [("authorization", header), ("host", "h"),
                                          ("x-amz-date", "20200101T000000Z")], b"")
