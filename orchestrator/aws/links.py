"""AWS console URLs for what a workflow touches: state machines, executions, Batch jobs, log
streams, Lambda functions. Pure string building: no boto3, no network.

Each partition has its own console host; the region is both a subdomain and a query parameter,
as the console itself writes links.

    >>> execution_url("arn:aws:states:eu-west-1:123456789012:execution:nightly:run-1")
    'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:123456789012:execution:nightly:run-1'
    >>> log_stream_url("load/default/ab12", "cn-north-1")
    'https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Fjob/log-events/load$252Fdefault$252Fab12'
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from orchestrator.aws.errors import ArnError

# Console hosts by partition. The ISO partitions have no public console, so they are absent.
CONSOLE_HOSTS: dict[str, str] = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
# Where Batch writes a job's container log unless its job definition names another group.
BATCH_LOG_GROUP = "/aws/batch/job"


def partition_of(region: str) -> str:
    """The partition a region belongs to.

    >>> partition_of("us-gov-west-1"), partition_of("cn-northwest-1"), partition_of("eu-central-1")
    ('aws-us-gov', 'aws-cn', 'aws')
    """
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"


def _base(region: str, partition: str | None = None) -> str:
    part = partition or partition_of(region)
    host = CONSOLE_HOSTS.get(part)
    if host is None:
        raise ArnError("console link", f"partition {part!r}", "this partition has no public AWS console",
                       fix=f"use one of {', '.join(CONSOLE_HOSTS)}")
    return f"https://{region}.{host}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Arn:
    """The parts of ``arn:partition:service:region:account:resource``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        """
        >>> Arn.parse("arn:aws:lambda:us-east-1:123456789012:function:f").resource
        'function:f'
        """
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
            raise ArnError("parse ARN", repr(text), "not an ARN",
                           fix="give a full ARN, e.g. arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME")
        return cls(partition=parts[1], service=parts[2], region=parts[3], account=parts[4], resource=parts[5])


def console_encode(text: str) -> str:
    """The CloudWatch console's encoding of a path part: ``encodeURIComponent`` applied twice,
    then ``%`` written as ``$`` (so ``/`` becomes ``$252F``), which is how the console itself
    writes log group and stream names into its ``#logsV2:`` fragment.

    >>> console_encode("/aws/batch/job")
    '$252Faws$252Fbatch$252Fjob'
    >>> console_encode("a[1]$")
    'a$255B1$255D$2524'
    """
    # encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) alone; quote() leaves the first
    # seven, so the other five are added to ``safe``.
    once = urllib.parse.quote(text, safe="!*'()")
    twice = urllib.parse.quote(once, safe="!*'()")
    return twice.replace("%", "$")


def state_machine_url(arn: str) -> str:
    """
    >>> state_machine_url("arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:nightly")
    'https://us-gov-west-1.console.amazonaws-us-gov.com/states/home?region=us-gov-west-1#/statemachines/view/arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:nightly'
    """
    parsed = Arn.parse(arn)
    return f"{_base(parsed.region, parsed.partition)}/states/home?region={parsed.region}#/statemachines/view/{arn}"


def execution_url(arn: str) -> str:
    """The execution's details page (graph, events, redrive) in the Step Functions console."""
    parsed = Arn.parse(arn)
    return f"{_base(parsed.region, parsed.partition)}/states/home?region={parsed.region}#/v2/executions/details/{arn}"


def batch_job_url(job_id: str, region: str) -> str:
    """
    >>> batch_job_url("0f1e2d3c-aaaa-bbbb-cccc-000000000000", "us-east-1")
    'https://us-east-1.console.aws.amazon.com/batch/home?region=us-east-1#jobs/detail/0f1e2d3c-aaaa-bbbb-cccc-000000000000'
    """
    return f"{_base(region)}/batch/home?region={region}#jobs/detail/{urllib.parse.quote(job_id, safe='')}"


def log_stream_url(stream: str, region: str, group: str = BATCH_LOG_GROUP) -> str:
    """A CloudWatch Logs stream (by default in Batch's log group, as a job's ``LogStreamName``)."""
    return (f"{_base(region)}/cloudwatch/home?region={region}"
            f"#logsV2:log-groups/log-group/{console_encode(group)}/log-events/{console_encode(stream)}")


def lambda_function_url(function: str, region: str | None = None) -> str:
    """A Lambda function by name (``region`` required) or ARN (its region and partition used).

    >>> lambda_function_url("arn:aws:lambda:us-east-1:123456789012:function:report:live")
    'https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions/report'
    >>> lambda_function_url("report", "eu-west-1")
    'https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1#/functions/report'
    """
    partition = None
    name = function
    if function.startswith("arn:"):
        parsed = Arn.parse(function)
        partition, region = parsed.partition, parsed.region
        name = parsed.resource.split(":")[1] if parsed.resource.startswith("function:") else parsed.resource
    if not region:
        raise ArnError("console link", f"Lambda function {function!r}", "no region for a function given by name",
                       fix="give the function's ARN or a region")
    return f"{_base(region, partition)}/lambda/home?region={region}#/functions/{urllib.parse.quote(name, safe='')}"


def console_url(arn: str) -> str:
    """The console page for any ARN this package deals in: a state machine, an execution, a
    Batch job, a Lambda function or a CloudWatch log group.

    >>> console_url("arn:aws:batch:us-east-1:123456789012:job/0f1e2d3c")
    'https://us-east-1.console.aws.amazon.com/batch/home?region=us-east-1#jobs/detail/0f1e2d3c'
    """
    parsed = Arn.parse(arn)
    kind, _, rest = parsed.resource.partition(":")
    if parsed.service == "states" and kind == "stateMachine":
        return state_machine_url(arn)
    if parsed.service == "states" and kind == "execution":
        return execution_url(arn)
    if parsed.service == "lambda" and kind == "function":
        return lambda_function_url(arn)
    if parsed.service == "batch" and parsed.resource.startswith("job/"):
        return f"{_base(parsed.region, parsed.partition)}/batch/home?region={parsed.region}#jobs/detail/" \
               f"{urllib.parse.quote(parsed.resource[4:], safe='')}"
    if parsed.service == "logs" and kind == "log-group":
        group, _, stream = rest.partition(":log-stream:")
        base = f"{_base(parsed.region, parsed.partition)}/cloudwatch/home?region={parsed.region}"
        url = f"{base}#logsV2:log-groups/log-group/{console_encode(group.removesuffix(':*'))}"
        return f"{url}/log-events/{console_encode(stream)}" if stream else url
    raise ArnError("console link", arn, f"no console page known for {parsed.service} {kind or 'resource'}",
                   fix="give the ARN of a state machine, execution, Batch job, Lambda function or log group")
