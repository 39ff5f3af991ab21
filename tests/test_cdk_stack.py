"""The AWS stacks of the example workflows, synthesized once (jsii starts Node: slow) and checked.

No AWS account is involved: stacks get a fixed account/region and nothing is looked up.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
if shutil.which("node") is None:  # jsii runs aws-cdk-lib in Node.js
    pytest.skip("the CDK needs Node.js", allow_module_level=True)
cdk = pytest.importorskip("aws_cdk")

from aws_cdk.assertions import Match, Template  # noqa: E402

from orchestrator.cdk.app import NETWORK_STACK, build, stack_name  # noqa: E402
from orchestrator.compiler import compile_workflow  # noqa: E402
from orchestrator.compiler.tasks import SPOT_EVALUATE_ON_EXIT, SPOT_RETRY_ATTEMPTS  # noqa: E402
from orchestrator.compiler.tasks import job_definition as settings_of  # noqa: E402
from orchestrator.spec import load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENV = cdk.Environment(account="123456789012", region="eu-central-1")
FILES = {"nightly-sales": "state_machines/nightly_sales.py", "etl-fanout": "state_machines/etl_fanout.py"}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    stacks = build(app, project_root=ROOT, workflow_files=list(FILES.values()), env=ENV)
    out = {s.stack_name: Template.from_stack(s).to_json() for s in stacks}
    network = app.node.find_child(NETWORK_STACK)
    out[NETWORK_STACK] = Template.from_stack(network).to_json()
    return out


def template(templates: dict[str, dict[str, Any]], workflow: str) -> dict[str, Any]:
    return templates[stack_name(workflow)]


def resources(tpl: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == kind}


def only(tpl: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = resources(tpl, kind).values()
    return found["Properties"]


def ref_id(value: dict[str, Any]) -> str:
    """The logical id a Ref or Fn::GetAtt points at."""
    return value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0]


def statements(tpl: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        s
        for policy in resources(tpl, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else value


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- network ------------------------------------------------------------------------------------


def test_one_shared_network_with_public_subnets_and_no_nat(templates: dict[str, dict[str, Any]]) -> None:
    net = templates[NETWORK_STACK]
    assert len(resources(net, "AWS::EC2::VPC")) == 1
    assert resources(net, "AWS::EC2::NatGateway") == {}
    assert all(s["Properties"]["MapPublicIpOnLaunch"] for s in resources(net, "AWS::EC2::Subnet").values())
    for workflow in FILES:
        assert resources(template(templates, workflow), "AWS::EC2::VPC") == {}


# --- Batch --------------------------------------------------------------------------------------


def test_queues_have_the_declared_priorities(templates: dict[str, dict[str, Any]]) -> None:
    etl = template(templates, "etl-fanout")
    priorities = sorted(q["Properties"]["Priority"] for q in resources(etl, "AWS::Batch::JobQueue").values())
    assert priorities == [1, 10]
    nightly = template(templates, "nightly-sales")
    assert only(nightly, "AWS::Batch::JobQueue")["Priority"] == 1  # the default queue


def test_queues_try_fargate_spot_then_on_demand_on_shared_environments(
    templates: dict[str, dict[str, Any]],
) -> None:
    etl = template(templates, "etl-fanout")
    environments = resources(etl, "AWS::Batch::ComputeEnvironment")
    assert sorted(e["Properties"]["ComputeResources"]["Type"] for e in environments.values()) == [
        "FARGATE", "FARGATE_SPOT"
    ]
    orders = []
    for queue in resources(etl, "AWS::Batch::JobQueue").values():
        order = sorted(queue["Properties"]["ComputeEnvironmentOrder"], key=lambda o: o["Order"])
        kinds = [environments[ref_id(o["ComputeEnvironment"])]["Properties"]["ComputeResources"]["Type"] for o in order]
        assert kinds == ["FARGATE_SPOT", "FARGATE"]
        orders.append([ref_id(o["ComputeEnvironment"]) for o in order])
    # Both queues draw on the same environments, so Batch orders them by priority.
    assert orders[0] == orders[1]


def test_compute_runs_in_public_subnets_with_a_public_ip(templates: dict[str, dict[str, Any]]) -> None:
    nightly = template(templates, "nightly-sales")
    for env in resources(nightly, "AWS::Batch::ComputeEnvironment").values():
        assert len(env["Properties"]["ComputeResources"]["Subnets"]) == 2
    for definition in resources(nightly, "AWS::Batch::JobDefinition").values():
        assert definition["Properties"]["ContainerProperties"]["NetworkConfiguration"] == {"AssignPublicIp": "ENABLED"}


def job_definition(tpl: dict[str, Any], task: str) -> dict[str, Any]:
    for definition in resources(tpl, "AWS::Batch::JobDefinition").values():
        env = definition["Properties"]["ContainerProperties"]["Environment"]
        if {"Name": "ORCHESTRATOR_TASK", "Value": task} in env:
            return dict(definition["Properties"])
    raise KeyError(task)


def test_one_job_definition_per_batch_task(templates: dict[str, dict[str, Any]]) -> None:
    assert len(resources(template(templates, "nightly-sales"), "AWS::Batch::JobDefinition")) == 3
    assert len(resources(template(templates, "etl-fanout"), "AWS::Batch::JobDefinition")) == 8


def test_job_definition_carries_image_command_resources_environment(templates: dict[str, dict[str, Any]]) -> None:
    props = job_definition(template(templates, "nightly-sales"), "load-sales")
    container = props["ContainerProperties"]
    # Built from state_machines/Dockerfile (the task's build): an image asset in CDK's bootstrap repository.
    assert "container-assets" in container["Image"]["Fn::Sub"]
    assert container["Command"] == ["python3", "-m", "state_machines.sales_jobs", "load", "--days", "14"]
    assert sorted(container["ResourceRequirements"], key=lambda r: r["Type"]) == [
        {"Type": "MEMORY", "Value": "1024"}, {"Type": "VCPU", "Value": "0.5"}
    ]
    assert {"Name": "SALES_DB", "Value": "data/sales.db"} in container["Environment"]
    assert {"Name": "ORCHESTRATOR_WORKFLOW", "Value": "nightly-sales"} in container["Environment"]
    assert props["PlatformCapabilities"] == ["FARGATE"]
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert "ExecutionRoleArn" in container
    assert "JobRoleArn" not in container  # no permissions declared: no job role at all
    assert props["PropagateTags"] is True


def test_the_state_machine_reads_the_log_tail_of_its_own_job_log_group_only(
        templates: dict[str, dict[str, Any]]) -> None:
    tpl = template(templates, "nightly-sales")
    (log_group_id,) = [k for k in resources(tpl, "AWS::Logs::LogGroup") if k.startswith("WorkflowBatchJobLogs")]
    reads = [s for policy in resources(tpl, "AWS::IAM::Policy").values()
             for s in policy["Properties"]["PolicyDocument"]["Statement"] if "logs:GetLogEvents" in str(s["Action"])]
    assert reads == [{"Action": "logs:GetLogEvents", "Effect": "Allow",
                      "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]}}]
    (machine,) = [m for m in resources(tpl, "AWS::StepFunctions::StateMachine").values()]
    assert machine["Properties"]["DefinitionSubstitutions"]["JobLogGroup"] == {"Ref": log_group_id}


def test_a_built_image_is_pulled_from_its_asset_repository_only(templates: dict[str, dict[str, Any]]) -> None:
    tpl = template(templates, "nightly-sales")
    (policy,) = [v["Properties"]["PolicyDocument"]["Statement"] for k, v in resources(tpl, "AWS::IAM::Policy").items()
                 if "loadsalesExecutionRole" in k]
    pulls = [s for s in policy if "ecr:BatchGetImage" in s["Action"]]
    (pull,) = pulls
    assert json.dumps(pull["Resource"]).endswith('repository/cdk-hnb659fds-container-assets-123456789012-eu-central-1"]]}')
    assert {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"} in policy


def test_job_definition_retry_and_timeout_match_the_compiled_state(templates: dict[str, dict[str, Any]]) -> None:
    props = job_definition(template(templates, "nightly-sales"), "optimize-db")
    assert props["RetryStrategy"] == {"Attempts": SPOT_RETRY_ATTEMPTS, "EvaluateOnExit": list(SPOT_EVALUATE_ON_EXIT)}
    assert props["Timeout"] == {"AttemptDurationSeconds": 7200}


@pytest.mark.parametrize("workflow", sorted(FILES))
def test_job_definitions_carry_what_the_task_states_leave_out(
    templates: dict[str, dict[str, Any]], workflow: str
) -> None:
    """Each Task state submits only name, queue, definition, execution id and tags; the job
    definition carries the rest, exactly as ``tasks.job_definition`` (which local runs use too)
    says, so the job is the same as if the state had sent it all."""
    wf = load(ROOT / FILES[workflow])
    compiled = compile_workflow(wf)
    states = dict(_all_states(compiled))
    for task in wf.tasks:
        if task.runs_on != "batch":
            continue
        settings = settings_of(task, wf)
        props = job_definition(template(templates, workflow), task.name)
        container = props["ContainerProperties"]
        assert container["Command"] == list(settings.command), task.name
        assert {e["Name"]: e["Value"] for e in container["Environment"]} == dict(settings.environment)
        assert sorted(container["ResourceRequirements"], key=lambda r: r["Type"]) == [
            {"Type": "MEMORY", "Value": str(settings.memory)}, {"Type": "VCPU", "Value": f"{settings.vcpus:g}"}
        ]
        assert props.get("Timeout") == (
            None if settings.attempt_seconds is None else {"AttemptDurationSeconds": settings.attempt_seconds}
        )
        assert props["RetryStrategy"] == {
            "Attempts": settings.retry_attempts, "EvaluateOnExit": [dict(r) for r in settings.evaluate_on_exit]
        }
        parameters = states[task.name]["Parameters"]
        assert set(parameters) <= {"JobName", "JobQueue", "JobDefinition", "ArrayProperties", "ContainerOverrides", "Tags"}
        assert all("Value.$" in e for e in parameters["ContainerOverrides"]["Environment"])  # per run only


def _all_states(compiled: Any) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []

    def walk(graph: dict[str, Any]) -> None:
        for name, state in graph["States"].items():
            out.append((name, state))
            for branch in state.get("Branches", ()):
                walk(branch)

    for definition in compiled.definitions.values():
        walk(definition)
    return out


def test_execution_roles_only_write_the_workflow_log_group(templates: dict[str, dict[str, Any]]) -> None:
    nightly = template(templates, "nightly-sales")
    (log_group_id,) = [
        k for k, v in resources(nightly, "AWS::Logs::LogGroup").items() if k.startswith("WorkflowBatchJobLogs")
    ]
    for definition in resources(nightly, "AWS::Batch::JobDefinition").values():
        role = ref_id(definition["Properties"]["ContainerProperties"]["ExecutionRoleArn"])
        # Besides the pulls of its built image (test_a_built_image_is_pulled_from_its_asset_repository_only).
        logs = [s for s in statements(nightly, role) if not str(s["Action"]).count("ecr:")]
        assert logs == [{
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }]


# --- Lambda -------------------------------------------------------------------------------------


def function(tpl: dict[str, Any], task: str) -> dict[str, Any]:
    for fn in resources(tpl, "AWS::Lambda::Function").values():
        if fn["Properties"]["Environment"]["Variables"].get("ORCHESTRATOR_TASK") == task:
            return dict(fn["Properties"])
    raise KeyError(task)


def test_python_task_of_five_minutes_is_a_lambda(templates: dict[str, dict[str, Any]]) -> None:
    props = function(template(templates, "nightly-sales"), "check-freshness")
    assert props["Handler"] == "state_machines.nightly_sales.check_freshness"
    assert props["Runtime"] == "python3.12"
    assert props["Timeout"] == 300
    assert props["MemorySize"] == 512
    assert props["Environment"]["Variables"]["SALES_DB"] == "data/sales.db"


def test_lambda_tasks_get_handler_timeout_memory(templates: dict[str, dict[str, Any]]) -> None:
    etl = template(templates, "etl-fanout")
    assert len(resources(etl, "AWS::Lambda::Function")) == 6
    rates = function(etl, "fetch-rates")
    assert (rates["Handler"], rates["Timeout"], rates["MemorySize"]) == ("state_machines.etl_jobs.fetch_rates", 60, 512)
    clean = function(etl, "clean-east")
    assert (clean["Handler"], clean["Timeout"]) == ("state_machines.etl_jobs.clean", 300)
    assert clean["Environment"]["Variables"]["REGION"] == "east"


def test_lambda_role_writes_only_its_own_log_group(templates: dict[str, dict[str, Any]]) -> None:
    etl = template(templates, "etl-fanout")
    props = function(etl, "quality-checks")
    role = ref_id(props["Role"])
    log_group = ref_id(props["LoggingConfig"]["LogGroup"])
    assert statements(etl, role) == [{
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
    }]
    assert "ManagedPolicyArns" not in etl["Resources"][role]["Properties"]


# --- SNS ----------------------------------------------------------------------------------------


def test_alert_topic_with_email_and_https_webhook(templates: dict[str, dict[str, Any]]) -> None:
    etl = template(templates, "etl-fanout")
    subscriptions = sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
        for s in resources(etl, "AWS::SNS::Subscription").values()
    )
    assert subscriptions == [("email", "data-team@example.com"), ("https", "https://hooks.example.com/etl")]
    assert len(resources(etl, "AWS::SNS::Topic")) == 1


# --- Step Functions -----------------------------------------------------------------------------


def machine(tpl: dict[str, Any]) -> dict[str, Any]:
    return only(tpl, "AWS::StepFunctions::StateMachine")


@pytest.mark.parametrize("workflow", sorted(FILES))
def test_substitutions_cover_every_placeholder(templates: dict[str, dict[str, Any]], workflow: str) -> None:
    compiled = compile_workflow(load(ROOT / FILES[workflow]))
    props = machine(template(templates, workflow))
    assert props["DefinitionString"] == compiled.deployed[workflow]  # compact, as the quotas were counted
    substituted = {"${" + key + "}" for key in props["DefinitionSubstitutions"]}
    assert substituted == compiled.placeholders
    placeholders = set(re.findall(r"\$\{[^}]+\}", props["DefinitionString"]))
    assert placeholders <= substituted
    for value in props["DefinitionSubstitutions"].values():
        assert set(value) <= {"Ref", "Fn::GetAtt"}  # every one an ARN of a resource of this stack


def test_substitutions_point_at_the_right_resources(templates: dict[str, dict[str, Any]]) -> None:
    etl = template(templates, "etl-fanout")
    subs = machine(etl)["DefinitionSubstitutions"]
    queues = {q["Properties"]["Priority"]: k for k, q in resources(etl, "AWS::Batch::JobQueue").items()}
    assert ref_id(subs["JobQueue_etl"]) == queues[10]
    assert ref_id(subs["JobQueue_bulk"]) == queues[1]
    jd = subs["JobDefinition_load-warehouse"]
    container = etl["Resources"][ref_id(jd)]["Properties"]["ContainerProperties"]
    assert {"Name": "ORCHESTRATOR_TASK", "Value": "load-warehouse"} in container["Environment"]
    fn = etl["Resources"][ref_id(subs["Function_clean-west"])]
    assert fn["Properties"]["Environment"]["Variables"]["ORCHESTRATOR_TASK"] == "clean-west"
    assert etl["Resources"][ref_id(subs["AlertTopicArn"])]["Type"] == "AWS::SNS::Topic"


def test_state_machine_is_named_logged_and_untraced_by_default(templates: dict[str, dict[str, Any]]) -> None:
    props = machine(template(templates, "nightly-sales"))
    assert props["StateMachineName"] == "nightly-sales"
    assert props["LoggingConfiguration"]["Level"] == "ERROR"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert props["TracingConfiguration"] == {"Enabled": False}


def machine_statements(tpl: dict[str, Any]) -> list[dict[str, Any]]:
    return statements(tpl, ref_id(machine(tpl)["RoleArn"]))


def test_state_machine_role_has_exactly_the_needed_actions(templates: dict[str, dict[str, Any]]) -> None:
    found = {a for s in machine_statements(template(templates, "etl-fanout")) for a in actions(s)}
    logs_delivery = {
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    }
    assert found == {
        "batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob", "batch:TagResource",
        "events:PutTargets", "events:PutRule", "events:DescribeRule",
        "lambda:InvokeFunction", "sns:Publish", "states:ListExecutions", "logs:GetLogEvents",  # the alert's log tail
    } | logs_delivery


def test_the_overlap_guard_may_list_only_its_own_machine(templates: dict[str, dict[str, Any]]) -> None:
    (listing,) = [s for s in machine_statements(template(templates, "etl-fanout"))
                  if "states:ListExecutions" in actions(s)]
    assert actions(listing) == ["states:ListExecutions"]
    assert listing["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":states:eu-central-1:123456789012:stateMachine:etl-fanout"]]}


def test_submit_job_is_limited_to_the_queues_and_job_definitions_used(templates: dict[str, dict[str, Any]]) -> None:
    etl = template(templates, "etl-fanout")
    (submit,) = [s for s in machine_statements(etl) if "batch:SubmitJob" in actions(s)]
    assert actions(submit) == ["batch:SubmitJob"]
    targets = {ref_id(r) for r in listed(submit["Resource"])}
    expected = set(resources(etl, "AWS::Batch::JobQueue")) | set(resources(etl, "AWS::Batch::JobDefinition"))
    assert targets == expected


def test_only_actions_without_resource_level_permissions_use_a_wildcard(
    templates: dict[str, dict[str, Any]],
) -> None:
    for workflow in FILES:
        for s in machine_statements(template(templates, workflow)):
            if "*" in listed(s["Resource"]):
                assert set(actions(s)) <= {"batch:DescribeJobs"} or all(a.startswith("logs:") for a in actions(s))


def test_sync_integration_may_manage_its_events_rule(templates: dict[str, dict[str, Any]]) -> None:
    (rule,) = [s for s in machine_statements(template(templates, "nightly-sales")) if "events:PutRule" in actions(s)]
    assert sorted(actions(rule)) == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert json.dumps(rule["Resource"]).endswith(':events:eu-central-1:123456789012:rule/StepFunctionsGetEventsForBatchJobsRule"]]}')


def test_lambda_invoke_and_publish_are_on_the_stack_resources(templates: dict[str, dict[str, Any]]) -> None:
    etl = template(templates, "etl-fanout")
    by_action = {a: s for s in machine_statements(etl) for a in actions(s)}
    invoked = {ref_id(r) for r in listed(by_action["lambda:InvokeFunction"]["Resource"])}
    assert invoked == set(resources(etl, "AWS::Lambda::Function"))
    assert ref_id(by_action["sns:Publish"]["Resource"]) in resources(etl, "AWS::SNS::Topic")


# --- schedule -----------------------------------------------------------------------------------


def test_schedule_with_timezone_window_retry_and_dlq(templates: dict[str, dict[str, Any]]) -> None:
    nightly = template(templates, "nightly-sales")
    props = only(nightly, "AWS::Scheduler::Schedule")
    assert props["ScheduleExpression"] == "cron(10 2 * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["State"] == "ENABLED"
    target = props["Target"]
    assert ref_id(target["Arn"]) in resources(nightly, "AWS::StepFunctions::StateMachine")
    assert ref_id(target["DeadLetterConfig"]["Arn"]) in resources(nightly, "AWS::SQS::Queue")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10}
    role = ref_id(target["RoleArn"])
    assert sorted((actions(s)[0], ref_id(s["Resource"])) for s in statements(nightly, role)) == sorted([
        ("states:StartExecution", ref_id(target["Arn"])),
        ("sqs:SendMessage", ref_id(target["DeadLetterConfig"]["Arn"])),
    ])
    trust = nightly["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}


def test_rate_schedule_defaults_to_utc(templates: dict[str, dict[str, Any]]) -> None:
    props = only(template(templates, "etl-fanout"), "AWS::Scheduler::Schedule")
    assert (props["ScheduleExpression"], props["ScheduleExpressionTimezone"]) == ("rate(6 hours)", "UTC")


# --- failure visibility -------------------------------------------------------------------------


def test_timed_out_and_aborted_executions_alert_through_eventbridge(templates: dict[str, dict[str, Any]]) -> None:
    nightly = template(templates, "nightly-sales")
    rule = only(nightly, "AWS::Events::Rule")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["TIMED_OUT", "ABORTED"]
    assert ref_id(pattern["detail"]["stateMachineArn"][0]) in resources(nightly, "AWS::StepFunctions::StateMachine")
    (target,) = rule["Targets"]
    assert ref_id(target["Arn"]) in resources(nightly, "AWS::SNS::Topic")
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"]["detail-status"] == "$.detail.status"
    assert "Workflow: nightly-sales" in transformer["InputTemplate"]
    assert "#/v2/executions/details/<detail-executionArn>" in transformer["InputTemplate"]


def test_topic_policy_lets_eventbridge_and_cloudwatch_publish(templates: dict[str, dict[str, Any]]) -> None:
    policy = only(template(templates, "nightly-sales"), "AWS::SNS::TopicPolicy")
    principals = {
        s["Principal"]["Service"] for s in policy["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and isinstance(s["Principal"], dict) and "Service" in s["Principal"]
    }
    assert principals == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}


def alarm_described(tpl: dict[str, Any], words: str) -> dict[str, Any]:
    (found,) = [a["Properties"] for a in resources(tpl, "AWS::CloudWatch::Alarm").values()
                if words in a["Properties"]["AlarmDescription"]]
    return found


def test_alarm_on_a_start_scheduler_could_not_make(templates: dict[str, dict[str, Any]]) -> None:
    nightly = template(templates, "nightly-sales")
    alarm = alarm_described(nightly, "could not start a run")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum")
    (dimension,) = alarm["Dimensions"]
    dlq = only(nightly, "AWS::Scheduler::Schedule")["Target"]["DeadLetterConfig"]["Arn"]
    assert ref_id(dimension["Value"]) == ref_id(dlq)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert ref_id(alarm["AlarmActions"][0]) in resources(nightly, "AWS::SNS::Topic")


def test_alarm_on_a_run_that_never_happened(templates: dict[str, dict[str, Any]]) -> None:
    """Daily at 02:10 Berlin with a 4 h workflow timeout. The longest gap between fires is 48 hours:
    02:10 does not exist on the spring DST day, and Scheduler skips it; so 48 + 4 hours."""
    nightly = template(templates, "nightly-sales")
    alarm = alarm_described(nightly, "no execution succeeded")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/States", "ExecutionsSucceeded", "Sum")
    assert ref_id(alarm["Dimensions"][0]["Value"]) in resources(nightly, "AWS::StepFunctions::StateMachine")
    periods = -(-(2 * 86_400 + load(ROOT / FILES["nightly-sales"]).timeout) // 3600)
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3600, periods, periods)
    assert (alarm["ComparisonOperator"], alarm["TreatMissingData"]) == ("LessThanThreshold", "breaching")
    assert ref_id(alarm["AlarmActions"][0]) in resources(nightly, "AWS::SNS::Topic")


def test_alarm_on_failed_or_timed_out_executions(templates: dict[str, dict[str, Any]]) -> None:
    nightly = template(templates, "nightly-sales")
    alarm = alarm_described(nightly, "failed or timed out")
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut"}
    assert alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"
    assert ref_id(alarm["AlarmActions"][0]) in resources(nightly, "AWS::SNS::Topic")


# --- tags ---------------------------------------------------------------------------------------


def test_workflow_tag_on_every_taggable_resource(templates: dict[str, dict[str, Any]]) -> None:
    nightly = template(templates, "nightly-sales")
    Template.from_json(nightly).has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"Tags": Match.array_with([{"Key": "orchestrator:workflow", "Value": "nightly-sales"}])},
    )
    for kind in ("AWS::Batch::JobQueue", "AWS::Batch::ComputeEnvironment"):
        for resource in resources(nightly, kind).values():
            assert resource["Properties"]["Tags"] == {"orchestrator:workflow": "nightly-sales"}
    for fn in resources(nightly, "AWS::Lambda::Function").values():
        assert {"Key": "orchestrator:workflow", "Value": "nightly-sales"} in fn["Properties"]["Tags"]


def test_the_stack_takes_the_builder_and_rejects_anything_else() -> None:
    from orchestrator import Workflow
    from orchestrator.cdk import DeployError, WorkflowStack
    from orchestrator.errors import NotAWorkflowError

    wf = Workflow("w")
    wf.task(name="long", timeout="2h", memory=2048)(print)  # a Batch job with no image to run in
    with pytest.raises(DeployError) as deploy:  # built, then checked like a model
        WorkflowStack(cdk.App(), "w", workflow=wf)
    assert [p.where for p in deploy.value.problems] == ["task 'long' field 'image'"]
    with pytest.raises(NotAWorkflowError) as raised:
        WorkflowStack(cdk.App(), "w", workflow="state_machines/nightly_sales.py")  # type: ignore[arg-type]
    (problem,) = raised.value.problems
    assert (problem.where, problem.fix) == (
        "WorkflowStack 'w' field 'workflow'",
        "load the file first: WorkflowStack(app, 'w', workflow=orchestrator.load('state_machines/nightly_sales.py'))")


def test_notify_on_recovery_may_list_its_own_executions_only(tmp_path: Path) -> None:
    from orchestrator import model
    from orchestrator.cdk import WorkflowStack

    wf = model.Workflow(name="rec", notify=model.Notify(email=("a@example.com",), on=("failure", "recovery")),
                        tasks=(model.Task(name="t", job=model.LambdaTask(handler="lambdas.checks:freshness")),))
    tpl = Template.from_stack(WorkflowStack(cdk.App(outdir=str(tmp_path)), "Rec", workflow=wf, env=ENV)).to_json()
    listing = [s for p in resources(tpl, "AWS::IAM::Policy").values()
               for s in p["Properties"]["PolicyDocument"]["Statement"] if "states:ListExecutions" in str(s["Action"])]
    assert listing == [{"Action": "states:ListExecutions", "Effect": "Allow", "Resource": {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":states:eu-central-1:123456789012:stateMachine:rec"]]}}]


def test_schedule_alarm_windows_examples() -> None:
    import doctest

    from orchestrator.cdk import scheduling

    assert doctest.testmod(scheduling).failed == 0
