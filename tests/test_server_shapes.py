"""Request checks from botocore's model: AWS's two error kinds, in AWS's words."""

from __future__ import annotations

import pytest

from orchestrator.server.errors import ServiceError
from orchestrator.server.shapes import ApiModel


@pytest.fixture(scope="module")
def api() -> ApiModel:
    return ApiModel.load()


def test_the_model_knows_the_api(api: ApiModel) -> None:
    assert (api.target_prefix, api.signing_name) == ("AWSStepFunctions", "states")
    assert {"StartExecution", "RedriveExecution", "ValidateStateMachineDefinition"} <= api.operations
    assert {"ExecutionAlreadyExists", "StateMachineDoesNotExist", "InvalidArn"} <= api.error_codes
    assert "ExecutionAlreadyExists" in api.errors_of("StartExecution")


def check(api: ApiModel, operation: str, params: dict[str, object]) -> tuple[str, str]:
    with pytest.raises(ServiceError) as caught:
        api.validate(operation, params)
    return caught.value.code, caught.value.message


def test_every_violation_is_listed(api: ApiModel) -> None:
    assert check(api, "CreateStateMachine", {"name": "", "type": "FAST"}) == ("ValidationException", (
        "4 validation errors detected: Value null at 'definition' failed to satisfy constraint: Member must not be "
        "null; Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value '' at 'name' "
        "failed to satisfy constraint: Member must have length greater than or equal to 1; Value 'FAST' at 'type' "
        "failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"))


def test_nested_members_and_patterns(api: ApiModel) -> None:
    code, message = check(api, "CreateStateMachineAlias", {"name": "1", "routingConfiguration": [
        {"stateMachineVersionArn": "arn:x:1", "weight": 101}]})
    assert code == "ValidationException"
    assert ("Value '1' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$") in message
    assert ("Value '101' at 'routingConfiguration.1.member.weight' failed to satisfy constraint: Member must have "
            "value less than or equal to 100") in message


def test_wrong_types_are_serialization_errors(api: ApiModel) -> None:
    assert check(api, "TagResource", {"resourceArn": "a", "tags": {"k": "v"}}) == (
        "SerializationException", "Unexpected value at 'tags': expected an array, got object.")
    assert check(api, "GetExecutionHistory", {"executionArn": "a", "reverseOrder": "yes"}) == (
        "SerializationException", "Unexpected value at 'reverseOrder': expected a boolean, got string.")


def test_a_good_request_passes_and_unknown_members_are_ignored(api: ApiModel) -> None:
    api.validate("StartExecution", {"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:m", "extra": 1})
