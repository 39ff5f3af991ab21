"""AWS console URLs: exact strings, per partition, and the CloudWatch console's double encoding."""

from __future__ import annotations

import doctest

import pytest

from orchestrator.aws import links
from orchestrator.aws.errors import ArnError

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:nightly-sales:run-1"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:nightly-sales"


def test_execution() -> None:
    assert links.execution_url(EXECUTION) == (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
        "#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:nightly-sales:run-1")


def test_state_machine() -> None:
    assert links.state_machine_url(MACHINE) == (
        "https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1"
        "#/statemachines/view/arn:aws:states:us-east-1:123456789012:stateMachine:nightly-sales")


def test_batch_job() -> None:
    assert links.batch_job_url("4f6c1f2a-0000-1111-2222-333344445555", "eu-west-1") == (
        "https://eu-west-1.console.aws.amazon.com/batch/home?region=eu-west-1"
        "#jobs/detail/4f6c1f2a-0000-1111-2222-333344445555")


def test_log_stream_double_encoded_with_dollar() -> None:
    assert links.log_stream_url("optimize-db/default/0a1b2c3d", "us-east-1") == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Fjob/log-events/optimize-db$252Fdefault$252F0a1b2c3d")
    # A Lambda stream: "2024/06/01/[$LATEST]abc" in the function's group.
    assert links.log_stream_url("2024/06/01/[$LATEST]abc", "us-east-1", group="/aws/lambda/report") == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#logsV2:log-groups/log-group/$252Faws$252Flambda$252Freport"
        "/log-events/2024$252F06$252F01$252F$255B$2524LATEST$255Dabc")


def test_lambda_function_by_name_and_arn() -> None:
    assert links.lambda_function_url("check-freshness", "us-west-2") == (
        "https://us-west-2.console.aws.amazon.com/lambda/home?region=us-west-2#/functions/check-freshness")
    assert links.lambda_function_url("arn:aws:lambda:us-west-2:123456789012:function:check-freshness") == (
        "https://us-west-2.console.aws.amazon.com/lambda/home?region=us-west-2#/functions/check-freshness")
    with pytest.raises(ArnError, match=r"no region for a function given by name\n    fix: give the function's ARN"):
        links.lambda_function_url("check-freshness")


@pytest.mark.parametrize(("partition", "region", "host"), [
    ("aws", "eu-central-1", "console.aws.amazon.com"),
    ("aws-cn", "cn-north-1", "console.amazonaws.cn"),
    ("aws-us-gov", "us-gov-west-1", "console.amazonaws-us-gov.com"),
])
def test_partitions(partition: str, region: str, host: str) -> None:
    execution = f"arn:{partition}:states:{region}:123456789012:execution:w:r"
    assert links.execution_url(execution) == (
        f"https://{region}.{host}/states/home?region={region}#/v2/executions/details/{execution}")
    assert links.batch_job_url("j", region) == f"https://{region}.{host}/batch/home?region={region}#jobs/detail/j"
    assert links.log_stream_url("s", region).startswith(f"https://{region}.{host}/cloudwatch/home?region={region}#")
    assert links.lambda_function_url(f"arn:{partition}:lambda:{region}:1:function:f") == (
        f"https://{region}.{host}/lambda/home?region={region}#/functions/f")


def test_console_url_dispatches_on_the_arn() -> None:
    assert links.console_url(EXECUTION) == links.execution_url(EXECUTION)
    assert links.console_url(MACHINE) == links.state_machine_url(MACHINE)
    assert links.console_url("arn:aws:batch:us-east-1:123456789012:job/abc") == links.batch_job_url("abc", "us-east-1")
    assert links.console_url("arn:aws:lambda:us-east-1:1:function:f:3") == links.lambda_function_url("f", "us-east-1")
    assert links.console_url("arn:aws:logs:us-east-1:1:log-group:/aws/batch/job:log-stream:a/default/b") == (
        links.log_stream_url("a/default/b", "us-east-1"))
    assert links.console_url("arn:aws:logs:us-east-1:1:log-group:/aws/batch/job:*") == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#logsV2:log-groups/log-group/$252Faws$252Fbatch$252Fjob")


def test_bad_arns_are_user_errors() -> None:
    with pytest.raises(ArnError, match=r"^parse ARN on 'run-1' failed: not an ARN\n    fix: give a full ARN"):
        links.console_url("run-1")
    with pytest.raises(ArnError, match=r"no console page known for sqs queue\n"):
        links.console_url("arn:aws:sqs:us-east-1:1:queue")
    with pytest.raises(ArnError, match=r"partition 'aws-iso' failed: this partition has no public AWS console"):
        links.execution_url("arn:aws-iso:states:us-iso-east-1:1:execution:w:r")


def test_doctests() -> None:
    assert doctest.testmod(links).failed == 0
