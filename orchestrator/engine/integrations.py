"""The plug-in interface between Task states and the services that run them.

An integration is a plain callable ``(TaskCall) -> result``, registered under ``"service:action"``
(``"batch:submitJob"``, ``"lambda:invoke"``, ``"sns:publish"``, ``"states:startExecution"``,
``"activity"``) or ``"*"`` as a fallback for service integrations (an activity is served only
by ``"activity"``, its worker; without one it does not exist). The engine parses a Task's ``Resource`` into a
``TaskCall``; the integration does the work and returns the JSON result, or raises
``TaskFailure(error, cause)`` to fail the state as AWS would.

>>> call = parse_resource("arn:aws:states:::batch:submitJob.sync")
>>> (call.service, call.action, call.pattern, call.sync_version)
('batch', 'submitJob', <IntegrationPattern.SYNC: 'sync'>, None)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator import arns
from orchestrator.arns import IntegrationPattern
from orchestrator.engine.clock import Clock


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCall:
    """Everything an integration needs to run one attempt of one Task state."""

    resource: str
    service: str
    action: str
    pattern: IntegrationPattern
    sync_version: int | None
    parameters: Any
    state_name: str
    execution_arn: str
    context: Mapping[str, Any]
    timeout_seconds: float | None
    heartbeat_seconds: float | None
    attempt: int
    cancel: threading.Event
    clock: Clock
    task_token: str | None = None
    heartbeat: Callable[[], None] | None = None
    # A ``.sync`` integration calls this with the service's answer to the submit request (Batch
    # SubmitJob's ``{"JobId", "JobName"}``); the engine records it as TaskSubmitted, as AWS does.
    # For ``.waitForTaskToken`` the integration's return value is recorded that way instead.
    submitted: Callable[[Any], None] | None = None


class TaskFailure(Exception):
    """Raised by an integration to fail the Task state with AWS's error name and cause."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause is not None else error)


Integration = Callable[[TaskCall], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedResource:
    """What a Task's ``Resource`` names: the service, action and integration pattern."""

    resource: str
    service: str
    action: str
    pattern: IntegrationPattern
    sync_version: int | None
    direct_lambda: bool = False
    activity: bool = False

    @property
    def key(self) -> str:
        return "activity" if self.activity else f"{self.service}:{self.action}"


def parse_resource(resource: str) -> ParsedResource:
    """Split a Task ``Resource`` ARN into service, action and pattern.

    Optimized integrations are ``arn:aws:states:::SERVICE:ACTION[.sync[:2]|.waitForTaskToken]``;
    SDK integrations ``arn:aws:states:::aws-sdk:SERVICE:ACTION``; a Lambda function ARN is a
    direct invoke and an activity ARN an activity task.
    """
    parts = resource.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return ParsedResource(resource=resource, service="lambda", action="invoke",
                              pattern=IntegrationPattern.REQUEST_RESPONSE, sync_version=None,
                              direct_lambda=True)
    if len(parts) >= 7 and parts[2] == "states" and parts[5] == "activity":
        return ParsedResource(resource=resource, service="activity", action=parts[6],
                              pattern=IntegrationPattern.REQUEST_RESPONSE, sync_version=None,
                              activity=True)
    if len(parts) >= 6 and parts[2] == "states" and parts[3] == "" and parts[4] == "":
        rest = parts[5:]
        if rest and rest[0] == "aws-sdk" and len(rest) >= 3:
            service, action_part = f"aws-sdk:{rest[1]}", ":".join(rest[2:])
        else:
            service, action_part = rest[0], ":".join(rest[1:])
        pattern = IntegrationPattern.REQUEST_RESPONSE
        version: int | None = None
        action = action_part
        if action_part.endswith(".waitForTaskToken"):
            action, pattern = action_part[: -len(".waitForTaskToken")], IntegrationPattern.WAIT_FOR_TASK_TOKEN
        elif ".sync" in action_part:
            action, _, suffix = action_part.partition(".sync")
            pattern = IntegrationPattern.SYNC
            if suffix.startswith(":") and suffix[1:].isdigit():
                version = int(suffix[1:])
        return ParsedResource(resource=resource, service=service, action=action, pattern=pattern,
                              sync_version=version)
    return ParsedResource(resource=resource, service="unknown", action=resource,
                          pattern=IntegrationPattern.REQUEST_RESPONSE, sync_version=None)


# (error, IAM action, service name in the SDK message) AWS reports when the execution role lacks
# permission; with no integration configured the engine behaves as if no policy allowed the call.
# The Lambda entry is AWS's exact text (as reported in public issue threads); the others follow
# the same "<Service>.<SDK exception>" pattern and have not been checked against AWS.
_ACCESS_DENIED: dict[str, tuple[str, str, str]] = {
    "lambda": ("Lambda.AWSLambdaException", "lambda:InvokeFunction", "AWSLambda"),
    "batch": ("Batch.AWSBatchException", "batch:SubmitJob", "AWSBatch"),
    "sns": ("SNS.AuthorizationErrorException", "SNS:Publish", "AmazonSNS"),
    "sqs": ("SQS.AmazonSQSException", "sqs:SendMessage", "AmazonSQS"),
    "states": ("StepFunctions.AWSStepFunctionsException", "states:StartExecution", "AWSStepFunctions"),
    "dynamodb": ("DynamoDB.AmazonDynamoDBException", "dynamodb:PutItem", "AmazonDynamoDBv2"),
    "events": ("EventBridge.AmazonEventBridgeException", "events:PutEvents", "AmazonEventBridge"),
    "ecs": ("ECS.AmazonECSException", "ecs:RunTask", "AmazonECS"),
    "glue": ("Glue.AWSGlueException", "glue:StartJobRun", "AWSGlue"),
}

# With no worker configured an activity does not exist here; AWS fails such a task this way.
ACTIVITY_MISSING = "The activity {resource} does not exist."

DEFAULT_ROLE_ARN = arns.role("StepFunctionsExecutionRole")


def request_target(parameters: Any) -> str:
    """The resource a service request names, as AWS quotes it in an access-denied cause.

    >>> request_target({"QueueUrl": "https://sqs/q", "MessageBody": "hi"})
    'https://sqs/q'
    """
    if isinstance(parameters, dict):
        for key in ("FunctionName", "JobQueue", "TopicArn", "StateMachineArn", "QueueUrl", "TableName"):
            if isinstance(parameters.get(key), str):
                return str(parameters[key])
    return "*"


def unconfigured(call: TaskCall) -> TaskFailure:
    """What a Task fails with when nothing is configured to answer ``call``: AWS's access denied.

    Integrations that answer only some calls (mocks, a forwarding endpoint) raise this for the rest,
    so an unanswered call fails exactly as it would with no integration at all.
    """
    parsed = parse_resource(call.resource)
    if parsed.activity:
        return TaskFailure("States.Runtime", ACTIVITY_MISSING.format(resource=call.resource))
    target = call.resource if parsed.direct_lambda else request_target(call.parameters)
    role_arn = str((call.context.get("Execution") or {}).get("RoleArn") or DEFAULT_ROLE_ARN)
    return access_denied(parsed, target, role_arn)


def access_denied(parsed: ParsedResource, target: str, role_arn: str) -> TaskFailure:
    """The failure AWS reports when the execution role may not call ``parsed``'s service."""
    role = role_arn.rsplit("/", 1)[-1]
    principal = arns.assumed_role(role, uuid.uuid4().hex[:32], account=arns.account_of(role_arn))
    service = parsed.service.removeprefix("aws-sdk:")
    error, iam_action, sdk = _ACCESS_DENIED.get(
        service, (f"{service.capitalize()}.AccessDeniedException", f"{service}:{parsed.action}",
                  service.capitalize()))
    cause = (f"User: {principal} is not authorized to perform: {iam_action} on resource: {target} "
             f"because no identity-based policy allows the {iam_action} action (Service: {sdk}; "
             f"Status Code: 403; Error Code: AccessDeniedException; Request ID: {uuid.uuid4()}; "
             "Proxy: null)")
    return TaskFailure(error, cause)
