"""botocore failures become AwsError (an OrchestratorError) naming the operation, resource and fix.

No test here reaches AWS: the endpoint is a closed local port, and credentials are fake or absent.
"""

from __future__ import annotations

import doctest
import sys
from typing import Any

import pytest

from orchestrator.aws import errors, executions
from orchestrator.aws.errors import AwsError, Boto3Missing, aws_call, translate
from orchestrator.errors import OrchestratorError

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
ARN = "arn:aws:states:us-east-1:123456789012:execution:greet:run-1"


@pytest.fixture(autouse=True)
def no_aws_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                "AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def local_client(**config: Any) -> Any:
    import boto3
    from botocore.config import Config

    # A new session: boto3's default one may hold credentials cached by an earlier test.
    return boto3.session.Session().client(
        "stepfunctions", region_name="us-east-1", endpoint_url=CLOSED,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, **config))


def test_is_an_orchestrator_error() -> None:
    assert issubclass(AwsError, OrchestratorError)


def test_no_credentials() -> None:
    with pytest.raises(AwsError) as caught:
        executions.describe(ARN, client=local_client())
    assert str(caught.value) == (f"DescribeExecution on execution {ARN} failed: no AWS credentials found\n"
                                 "    fix: set AWS_PROFILE or run `aws configure`")
    assert caught.value.operation == "DescribeExecution" and caught.value.code is None


def test_no_region() -> None:
    with pytest.raises(AwsError, match=(r"^create client on stepfunctions in the default region failed: "
                                        r"no AWS region configured\n    fix: pass --region")):
        errors.client("stepfunctions")


def test_endpoint_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(AwsError, match=(rf"^StopExecution on execution {ARN} failed: cannot reach "
                                        r"http://127.0.0.1:9/\n    fix: check the network connection")):
        executions.stop(ARN, client=local_client())


def client_error(code: str, message: str, operation: str = "StartExecution") -> Exception:
    from botocore.exceptions import ClientError

    error: Exception = ClientError({"Error": {"Code": code, "Message": message}}, operation)
    return error


@pytest.mark.parametrize(("code", "fix"), [
    ("AccessDeniedException", "grant this identity the Step Functions permission for StartExecution "
                              "(states:StartExecution) on state machine 'w', or use another AWS_PROFILE"),
    ("StateMachineDoesNotExist", "check the name, region and account, or deploy it first: "
                                 "orchestrator deploy SPEC"),
    ("ExpiredTokenException", "the session has expired: refresh it (e.g. `aws sso login`) or "
                              "set AWS_PROFILE or run `aws configure`"),
])
def test_client_errors_carry_a_fix(code: str, fix: str) -> None:
    error = translate(client_error(code, "nope"), "StartExecution", "state machine 'w'")
    assert error is not None
    assert str(error) == f"StartExecution on state machine 'w' failed: {code}: nope\n    fix: {fix}"
    assert error.code == code


def test_unknown_codes_keep_aws_message_without_a_fix() -> None:
    error = translate(client_error("SomethingNew", "details"), "StartExecution", "state machine 'w'")
    assert str(error) == "StartExecution on state machine 'w' failed: SomethingNew: details"


def test_access_denied_from_stubbed_call() -> None:
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="y")
    stub = Stubber(client)
    stub.add_client_error("get_execution_history", "AccessDeniedException", "not authorized")
    with stub, pytest.raises(AwsError, match=r"GetExecutionHistory on execution .* failed: AccessDeniedException: "
                                             r"not authorized\n    fix: grant this identity"):
        executions.history(ARN, client=client)


def test_other_exceptions_are_not_translated() -> None:
    assert translate(ValueError("bug"), "X", "y") is None
    with pytest.raises(KeyError), aws_call("X", "y"):
        raise KeyError("a bug stays a bug")


def test_boto3_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now raises ImportError
    with pytest.raises(Boto3Missing) as caught:
        errors.client("stepfunctions", "us-east-1")
    assert str(caught.value) == ("import boto3 failed: boto3 is not installed; the AWS commands need it\n"
                                 "    fix: pip install 'sfn-orchestrator[aws]'")


def test_importing_the_package_does_not_import_boto3() -> None:
    import subprocess

    code = ("import sys, orchestrator.aws.commands, orchestrator.aws.deploy, orchestrator.aws.links; "
            "print('boto3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_doctests() -> None:
    from orchestrator.aws import errors

    assert doctest.testmod(errors).failed == 0
