"""What the moto-backed AWS tests share: fake credentials, Lambda functions that echo, and the
context object's start time as text (see :func:`moto_start_time_as_text`).

Import ``fake_credentials`` into a test module to make it autouse there.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

import pytest

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never a real account: fake keys, a fixed region, no profile or metadata lookups."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                       "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
                       "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def echo_functions(names: Iterable[str]) -> tuple[str, dict[str, str]]:
    """Inside ``mock_aws``: a role, and one Lambda per name returning its event; (role ARN,
    substitutions ``Function_<name>`` → function ARN)."""
    import boto3

    role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("f.py", "def h(event, context):\n    return event\n")
    lambdas = boto3.client("lambda")
    return role, {f"Function_{name}": lambdas.create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="f.h",
        Code={"ZipFile": code.getvalue()})["FunctionArn"] for name in names}


def moto_start_time_as_text() -> None:
    """moto puts ``$$.Execution.StartTime`` in the context object as a datetime, where AWS has
    ISO-8601 text; give it text, since every compiled machine's first state reads it (the default
    ``scheduled_time``). Idempotent."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if getattr(ExecutionWorker, "_orchestrator_start_time_as_text", False):
        return
    original = ExecutionWorker._get_evaluation_environment

    def environment(self: Any) -> Any:
        env = original(self)
        execution = env.states.context_object.context_object_data["Execution"]
        start = execution.get("StartTime")
        if start is not None and not isinstance(start, str):
            execution["StartTime"] = start.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return env

    ExecutionWorker._get_evaluation_environment = environment  # type: ignore[method-assign]
    ExecutionWorker._orchestrator_start_time_as_text = True  # type: ignore[attr-defined]


# Every module that runs executions in moto imports this one; the patch only corrects moto.
moto_start_time_as_text()
