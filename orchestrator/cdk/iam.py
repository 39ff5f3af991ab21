"""Least-privilege IAM: one helper builds every ARN, small functions turn needs into statements.

Every statement names specific resources except where the AWS action has no resource-level
permissions at all (``batch:DescribeJobs``, ``ecr:GetAuthorizationToken``); each such case says so
where it is built. One more is added by CDK itself: a state machine with logging gets
``logs:CreateLogDelivery``, ``GetLogDelivery``, ``UpdateLogDelivery``, ``DeleteLogDelivery``,
``ListLogDeliveries``, ``PutResourcePolicy``, ``DescribeResourcePolicies`` and
``DescribeLogGroups`` on ``*``, because CloudWatch Logs' vended-log delivery actions accept no
resource ("Logging using CloudWatch Logs", Step Functions Developer Guide).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from orchestrator import arns, model

# The managed EventBridge rules Step Functions creates in the account for .sync integrations:
# the role of a state machine using batch:submitJob.sync / states:startExecution.sync must be
# allowed to create and read them (AWS docs, "IAM policies for AWS Batch" / "for Step Functions").
BATCH_EVENTS_RULE = "StepFunctionsGetEventsForBatchJobsRule"
SFN_EVENTS_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
EVENTS_RULE_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")

BATCH_SUBMIT = "batch:SubmitJob"
BATCH_SYNC_ACTIONS = ("batch:DescribeJobs", "batch:TerminateJob")
LAMBDA_INVOKE = "lambda:InvokeFunction"
SNS_PUBLISH = "sns:Publish"
STATES_START = "states:StartExecution"
STATES_EXECUTION_ACTIONS = ("states:DescribeExecution", "states:StopExecution")

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+?)(?::[\w.-]+|@sha256:[0-9a-f]+)?$"
)
# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")


def arn(scope: Construct, service: str, resource: str, name: str, *, colon: bool = False) -> str:
    """The one place an ARN of this stack's account and region is built.

    ``colon=True`` gives ``arn:...:resource:name`` (Step Functions executions); the default is
    ``arn:...:resource/name`` (Batch jobs, EventBridge rules).
    """
    return Stack.of(scope).format_arn(
        service=service,
        resource=resource,
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME if colon else ArnFormat.SLASH_RESOURCE_NAME,
    )


def statement(actions: Iterable[str], resources: Iterable[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=sorted(set(actions)), resources=list(dict.fromkeys(resources)))


def task_statements(permissions: Sequence[model.Permission]) -> list[iam.PolicyStatement]:
    """The task's own permissions, as declared (the declaration is where least privilege lives)."""
    return [statement(p.actions, p.resources) for p in permissions]


def ecr_pull_statements(image: str) -> list[iam.PolicyStatement]:
    """What an execution role needs to pull ``image`` when it is in a private ECR repository.

    ``ecr:GetAuthorizationToken`` has no resource-level permissions, so it is on ``*``; the layer
    reads are on the one repository. Public images (Docker Hub, ECR Public) need nothing.
    """
    found = _ECR_IMAGE.match(image)
    if found is None:
        return []
    partition = "aws-cn" if ".amazonaws.com.cn/" in image else "aws"
    repository = arns.arn("ecr", f"repository/{found['repository']}", region=found["region"],
                          account=found["account"], partition=partition)
    return [
        statement(["ecr:GetAuthorizationToken"], ["*"]),
        statement(
            ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            [repository],
        ),
    ]


def secret_resource(value_from: str) -> tuple[str, str]:
    """(action, resource) the execution role needs to read one secret given as an ARN.

    Batch accepts a Secrets Manager ARN optionally followed by ``:json-key:version-stage:version-id``
    and an SSM parameter ARN. A Secrets Manager ARN without its six-character suffix (a "partial"
    ARN) is matched with ``-??????``, as Secrets Manager documents for IAM policies.

    >>> secret_resource("arn:aws:ssm:eu-west-1:123456789012:parameter/db/password")
    ('ssm:GetParameters', 'arn:aws:ssm:eu-west-1:123456789012:parameter/db/password')
    >>> secret_resource("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123:password::")
    ('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123')
    """
    parts = value_from.split(":")
    if len(parts) >= 6 and parts[2] == "ssm":
        return "ssm:GetParameters", value_from
    if len(parts) >= 7 and parts[2] == "secretsmanager" and parts[5] == "secret":
        base = ":".join(parts[:7])
        if _SECRET_SUFFIX.search(parts[6]) is None:
            base += "-??????"
        return "secretsmanager:GetSecretValue", base
    raise ValueError(
        f"secret {value_from!r} is not a Secrets Manager or SSM Parameter Store ARN "
        "(arn:aws:secretsmanager:<region>:<account>:secret:<name> or arn:aws:ssm:<region>:<account>:parameter/<name>)"
    )


def secret_statements(secrets: Mapping[str, str]) -> list[iam.PolicyStatement]:
    """Read access to exactly the secrets a job names (customer-managed KMS keys are not covered)."""
    by_action: dict[str, list[str]] = {}
    for value_from in secrets.values():
        action, resource = secret_resource(value_from)
        by_action.setdefault(action, []).append(resource)
    return [statement([action], resources) for action, resources in sorted(by_action.items())]


def state_machine_arn(scope: Construct, state_machine_name: str) -> str:
    """The state machine called ``state_machine_name``, by name (no token: a machine's own role can name it)."""
    return arn(scope, "states", "stateMachine", state_machine_name, colon=True)


def execution_arn(scope: Construct, state_machine_name: str) -> str:
    """Every execution of the state machine called ``state_machine_name``."""
    return arn(scope, "states", "execution", f"{state_machine_name}:*", colon=True)


def events_rule_arn(scope: Construct, rule: str) -> str:
    return arn(scope, "events", "rule", rule)


def batch_job_arn(scope: Construct) -> str:
    """Every Batch job of the account and region: TerminateJob authorizes on the job, whose id is
    only known at run time."""
    return arn(scope, "batch", "job", "*")


def service_role(scope: Construct, id: str, service: str, description: str) -> iam.Role:
    """A role only ``service`` can assume; policies are added by the caller."""
    return iam.Role(scope, id, assumed_by=iam.ServicePrincipal(service), description=description)
