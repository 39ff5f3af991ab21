"""One builder of ARNs: AWS's shapes, one local account and region."""

from __future__ import annotations

import doctest

from orchestrator import arns
from orchestrator.engine import execute
from orchestrator.local.batch import JobDefinition, JobQueue
from orchestrator.local.lambda_ import LambdaFunction
from orchestrator.local.runs import local_arn


def test_docstring_examples() -> None:
    result = doctest.testmod(arns)
    assert result.attempted > 0 and result.failed == 0


def test_every_local_service_names_the_same_account_and_region() -> None:
    prefix = f":{arns.REGION}:{arns.ACCOUNT}:"
    built = [
        JobQueue(name="q").arn,
        JobDefinition(name="jd", command=("true",)).arn,
        LambdaFunction(name="f", handler="m:f").arn,
        local_arn("StateMachine_child", "wf"),
        local_arn("AlertTopicArn", "wf"),
        execute({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}).execution_arn,
    ]
    assert all(prefix in arn for arn in built), built


def test_shapes() -> None:
    machine = arns.state_machine("m")
    assert arns.express_execution(machine, "n", "u") == "arn:aws:states:us-east-1:123456789012:express:m:n:u"
    assert arns.map_run(machine, "m/Map", "u") == "arn:aws:states:us-east-1:123456789012:mapRun:m/Map:u"
    assert arns.map_run_execution(machine, "m/Map", "u") == "arn:aws:states:us-east-1:123456789012:execution:m/Map:u"
    assert arns.map_run_machine(machine, "m/Map") == "arn:aws:states:us-east-1:123456789012:stateMachine:m/Map"
    assert arns.job_definition("jd", 3) == "arn:aws:batch:us-east-1:123456789012:job-definition/jd:3"
    assert arns.batch_job("id") == "arn:aws:batch:us-east-1:123456789012:job/id"
    assert arns.ecs_task("t") == "arn:aws:ecs:us-east-1:123456789012:task/local/t"
    assert arns.sns_topic("alerts") == "arn:aws:sns:us-east-1:123456789012:alerts"
    assert arns.assumed_role("r", "s", account="1") == "arn:aws:sts::1:assumed-role/r/s"
    assert arns.local("Other") == "arn:aws:local:us-east-1:123456789012:Other"


def test_an_execution_keeps_its_machines_region_and_account() -> None:
    machine = "arn:aws-cn:states:cn-north-1:111122223333:stateMachine:m"
    assert arns.execution(machine, "x") == "arn:aws-cn:states:cn-north-1:111122223333:execution:m:x"
    # A bare name (not an ARN) gets the local partition, region and account.
    assert arns.execution("m", "x") == "arn:aws:states:us-east-1:123456789012:execution:m:x"


def test_another_partition() -> None:
    assert arns.arn("ecr", "repository/jobs", region="cn-north-1", account="111122223333", partition="aws-cn") == (
        "arn:aws-cn:ecr:cn-north-1:111122223333:repository/jobs")
