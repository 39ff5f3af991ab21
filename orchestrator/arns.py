"""The one builder of AWS resource ARNs, and the account and region the local services use.

Everything that assembles an ARN (the compiler's service integrations, the placeholders resolved
locally, local Batch, local Lambda, the SNS outbox, the engine, the local endpoint) calls a
function here, so every ARN has AWS's shape and names the same fake account and region.

The local account is ``123456789012`` and the region ``us-east-1``, unless ``AWS_ACCOUNT_ID`` and
``AWS_DEFAULT_REGION`` say otherwise (Step Functions Local's settings). That account is what Step
Functions Local and moto answer with by default, and the example account of AWS's own documentation, so ARNs the embedded services print
match what a user sees from those tools (and what the engine's differential tests against moto
compare). ``000000000000`` (LocalStack's) was used by local Batch only; one account means a Batch
job ARN, a Lambda ARN and an execution ARN of the same local run agree.

    >>> state_machine("nightly")
    'arn:aws:states:us-east-1:123456789012:stateMachine:nightly'
    >>> execution(state_machine("nightly"), "run-1")
    'arn:aws:states:us-east-1:123456789012:execution:nightly:run-1'
    >>> integration("batch", "submitJob", IntegrationPattern.SYNC)
    'arn:aws:states:::batch:submitJob.sync'
"""

from __future__ import annotations

import enum
import os
import re

from orchestrator.errors import OrchestratorError

PARTITION = "aws"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


class LocalAccountError(OrchestratorError):
    """``AWS_ACCOUNT_ID`` or ``AWS_DEFAULT_REGION`` cannot name the local account or region."""


def _setting(name: str, what: str, default: str, pattern: str, example: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not re.fullmatch(pattern, value):
        raise LocalAccountError(f"{name}={value!r} cannot be the local {what}: use e.g. {name}={example}, "
                                f"or unset it for {default}.")
    return value


# Step Functions Local's settings name the account and region of everything local: read once, when
# the process starts, as Step Functions Local reads them (a test that sets them mid-run sees no change).
REGION = _setting("AWS_DEFAULT_REGION", "region", DEFAULT_REGION, r"[a-z]{2}(-[a-z]+)+-\d{1,2}", "eu-west-1")
ACCOUNT = _setting("AWS_ACCOUNT_ID", "account", DEFAULT_ACCOUNT, r"\d{12}", "111122223333")


def arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT,
        partition: str = PARTITION) -> str:
    """``arn:<partition>:<service>:<region>:<account>:<resource>``; global services pass ``region=""``.

    >>> arn("iam", "role/sfn", region="", account="123456789012")
    'arn:aws:iam::123456789012:role/sfn'
    """
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


# -- Step Functions ---------------------------------------------------------------------------------


class IntegrationPattern(enum.Enum):
    """How a Task state waits for its service ("Discover service integration patterns" in the Step
    Functions guide), written as a suffix of the Resource ARN. The one enum of the compiler (which
    writes the suffix) and the engine (which parses it).

    >>> IntegrationPattern.SYNC.suffix(2), IntegrationPattern.WAIT_FOR_TASK_TOKEN.suffix()
    ('.sync:2', '.waitForTaskToken')
    """

    REQUEST_RESPONSE = "request_response"  # return when the service accepted the request
    SYNC = "sync"  # "Run a job": wait for the job (``.sync``, or ``.sync:2`` for version 2)
    WAIT_FOR_TASK_TOKEN = "wait_for_task_token"  # wait for SendTaskSuccess/Failure with the token

    def suffix(self, version: int | None = None) -> str:
        """The Resource ARN's suffix; ``version`` only for ``.sync`` (``startExecution.sync:2``)."""
        if self is IntegrationPattern.SYNC:
            return ".sync" if version is None else f".sync:{version}"
        return ".waitForTaskToken" if self is IntegrationPattern.WAIT_FOR_TASK_TOKEN else ""


def integration(service: str, action: str, pattern: IntegrationPattern = IntegrationPattern.REQUEST_RESPONSE,
                version: int | None = None) -> str:
    """A Task state's Resource for a service integration; these ARNs name no region or account.

    >>> integration("lambda", "invoke")
    'arn:aws:states:::lambda:invoke'
    """
    return arn("states", f"{service}:{action}{pattern.suffix(version)}", region="", account="")


def state_machine(name: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    return arn("states", f"stateMachine:{name}", region=region, account=account)


def _states_prefix(state_machine_arn: str) -> str:
    """``arn:<partition>:states:<region>:<account>`` of a state machine ARN; the local one's for
    anything that is not a full ARN (a test may pass a bare name)."""
    parts = state_machine_arn.split(":")
    return ":".join(parts[:5]) if len(parts) >= 7 else f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}"


def execution(state_machine_arn: str, name: str) -> str:
    """A Standard execution's ARN: the machine's partition, region and account, and its name.

    >>> execution("arn:aws:states:eu-west-1:111122223333:stateMachine:m", "x")
    'arn:aws:states:eu-west-1:111122223333:execution:m:x'
    """
    machine = state_machine_arn.rsplit(":", 1)[-1]
    return f"{_states_prefix(state_machine_arn)}:execution:{machine}:{name}"


def express_execution(state_machine_arn: str, name: str, run_id: str) -> str:
    """An Express execution's ARN (``:express:<machine>:<name>:<run id>``, as AWS reports it)."""
    machine = state_machine_arn.rsplit(":", 1)[-1]
    return f"{_states_prefix(state_machine_arn)}:express:{machine}:{name}:{run_id}"


def map_run(state_machine_arn: str, child_machine: str, run_id: str) -> str:
    """A distributed Map's Map Run (``:mapRun:<machine>/<label>:<run id>``)."""
    return f"{_states_prefix(state_machine_arn)}:mapRun:{child_machine}:{run_id}"


def map_run_machine(state_machine_arn: str, child_machine: str) -> str:
    """The state machine ARN a Map Run's children report (``:stateMachine:<machine>/<label>``)."""
    return f"{_states_prefix(state_machine_arn)}:stateMachine:{child_machine}"


def map_run_execution(state_machine_arn: str, child_machine: str, run_id: str) -> str:
    """A Map Run child execution (``:execution:<machine>/<label>:<run id>``)."""
    return f"{_states_prefix(state_machine_arn)}:execution:{child_machine}:{run_id}"


# -- Batch, ECS, Lambda, SNS, IAM ----------------------------------------------------------------


def job_queue(name: str) -> str:
    return arn("batch", f"job-queue/{name}")


def job_definition(name: str, revision: int = 1) -> str:
    return arn("batch", f"job-definition/{name}:{revision}")


def batch_job(job_id: str) -> str:
    return arn("batch", f"job/{job_id}")


def ecs_task(task_id: str, cluster: str = "local") -> str:
    return arn("ecs", f"task/{cluster}/{task_id}")


def function(name: str) -> str:
    """
    >>> function("report")
    'arn:aws:lambda:us-east-1:123456789012:function:report'
    """
    return arn("lambda", f"function:{name}")


def sns_topic(name: str) -> str:
    return arn("sns", name)


def role(name: str, *, account: str = ACCOUNT) -> str:
    return arn("iam", f"role/{name}", region="", account=account)


def assumed_role(role_name: str, session: str, *, account: str = ACCOUNT) -> str:
    """The STS principal a role's session acts as (what AccessDenied messages name)."""
    return arn("sts", f"assumed-role/{role_name}/{session}", region="", account=account)


def account_of(value: str, default: str = ACCOUNT) -> str:
    """The account field of an ARN, or ``default`` when ``value`` has none.

    >>> account_of("arn:aws:iam::111122223333:role/x"), account_of("role/x")
    ('111122223333', '123456789012')
    """
    parts = value.split(":")
    return parts[4] if len(parts) >= 6 else default


def local(placeholder_name: str) -> str:
    """An ARN for a deploy-time value this module has no service for (never called by AWS)."""
    return arn("local", placeholder_name)
