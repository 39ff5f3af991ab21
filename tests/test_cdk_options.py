"""The AWS stack for the parts the examples do not use: secrets, task permissions, private ECR
images, Python tasks on Batch, child state machines, an existing topic, flexible and disabled
schedules, workflow tags; and the problems found before synthesis.

One app is synthesized for the whole module (jsii starts Node: slow).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
if shutil.which("node") is None:  # jsii runs aws-cdk-lib in Node.js
    pytest.skip("the CDK needs Node.js", allow_module_level=True)
cdk = pytest.importorskip("aws_cdk")

from aws_cdk.assertions import Template  # noqa: E402

from orchestrator import model  # noqa: E402
from orchestrator.cdk import DeployError, DeployOptions, WorkflowStack  # noqa: E402
from orchestrator.cdk.functions import lambda_handler  # noqa: E402
from orchestrator.cdk.iam import secret_resource  # noqa: E402
from orchestrator.cdk.stack import problems  # noqa: E402
from orchestrator.compiler import compile_workflow  # noqa: E402
from tests.test_cdk_stack import (  # noqa: E402
    ENV,
    ROOT,
    actions,
    job_definition,
    listed,
    ref_id,
    resources,
    statements,
)

ECR_IMAGE = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/team/etl:2024-05"
DB_SECRET = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/db-AbC123:password::"
TOKEN_PARAM = "arn:aws:ssm:eu-central-1:123456789012:parameter/etl/token"
TOPIC = "arn:aws:sns:eu-central-1:123456789012:ops-alerts"
BUCKET = model.Permission(actions=("s3:GetObject",), resources=("arn:aws:s3:::sales-raw/*",))


def batch_task(name: str, after: tuple[str, ...] = ()) -> model.Task:
    return model.Task(
        name=name,
        after=after,
        timeout=600,
        job=model.BatchJob(image=ECR_IMAGE, command=("run", name), vcpus=0.25, memory=512),
    )


WORKFLOW = model.Workflow(
    name="options-demo",
    schedule=model.Schedule(expression="cron(0 6 * * ? *)", timezone="America/New_York", flexible_window=15,
                            enabled=False),
    notify=model.Notify(topic_arn=TOPIC),
    tags={"team": "data", "cost-center": "42"},
    defaults=model.Defaults(image=ECR_IMAGE),
    queues=(
        model.Queue(name="default", priority=3),
        model.Queue(name="gpu", priority=5, compute=(model.Compute.SPOT, model.Compute.EC2), max_vcpus=64),
    ),
    tasks=(
        model.Task(
            name="extract",
            timeout=1800,
            job=model.BatchJob(
                image=ECR_IMAGE,
                command=("extract",),
                secrets={"DB_PASSWORD": DB_SECRET, "API_TOKEN": TOKEN_PARAM},
                permissions=(BUCKET,),
            ),
        ),
        # 2 hours: too long for Lambda, so a Batch job running orchestrator.batch_entry.
        model.Task(name="crunch", after=("extract",), timeout=7200,
                   job=model.PythonTask(function="jobs.crunch:main", memory=2048)),
        *(batch_task(f"step-{i}", after=("crunch",)) for i in range(6)),
        model.Task(name="render", after=("crunch",), timeout=900,
                   job=model.BatchJob(image="public.ecr.aws/docker/library/alpine:3", command=("true",), vcpus=2,
                                      memory=4096, queue="gpu", platform=model.Platform.EC2)),
        model.Task(name="notify-done", after=tuple(f"step-{i}" for i in range(6)), timeout=60,
                   job=model.LambdaTask(handler="jobs.done:handler", memory=256, permissions=(BUCKET,))),
    ),
)
# Small enough a history budget that the compiler splits the workflow into child machines.
COMPILED = compile_workflow(WORKFLOW, max_history_events=150)


# No notify, no schedule, no Batch: the smallest stack.
QUIET = model.Workflow(
    name="quiet",
    tasks=(model.Task(name="ping", timeout=30, job=model.LambdaTask(handler="lambdas.examples:disk_usage")),),
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    assert len(COMPILED.definitions) > 1, "the workflow must be split for these tests"
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    options = DeployOptions(project_root=ROOT, tracing=True, alert_on_failed=True)
    stacks = [
        WorkflowStack(app, "options-demo", workflow=WORKFLOW, compiled=COMPILED, env=ENV, options=options),
        WorkflowStack(app, "quiet", workflow=QUIET, env=ENV, options=DeployOptions(project_root=ROOT)),
    ]
    return {s.stack_name: dict(Template.from_stack(s).to_json()) for s in stacks}


@pytest.fixture(scope="module")
def tpl(app: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return app["options-demo"]


@pytest.fixture(scope="module")
def quiet(app: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return app["quiet"]


def machines(tpl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        m["Properties"]["StateMachineName"]: m["Properties"]
        for m in resources(tpl, "AWS::StepFunctions::StateMachine").values()
    }


def role_statements(tpl: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return statements(tpl, ref_id(machines(tpl)[name]["RoleArn"]))


# --- Batch jobs ---------------------------------------------------------------------------------


def test_secrets_are_passed_by_exact_arn(tpl: dict[str, Any]) -> None:
    container = job_definition(tpl, "extract")["ContainerProperties"]
    assert container["Secrets"] == [
        {"Name": "DB_PASSWORD", "ValueFrom": DB_SECRET},
        {"Name": "API_TOKEN", "ValueFrom": TOKEN_PARAM},
    ]


def test_execution_role_reads_exactly_the_secrets_and_pulls_from_one_repository(tpl: dict[str, Any]) -> None:
    container = job_definition(tpl, "extract")["ContainerProperties"]
    found = {
        (tuple(actions(s)), tuple(r if isinstance(r, str) else "<log group>" for r in listed(s["Resource"])))
        for s in statements(tpl, ref_id(container["ExecutionRoleArn"]))
    }
    assert found == {
        (("logs:CreateLogStream", "logs:PutLogEvents"), ("<log group>",)),
        (("ecr:GetAuthorizationToken",), ("*",)),
        (("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
         ("arn:aws:ecr:eu-central-1:123456789012:repository/team/etl",)),
        (("secretsmanager:GetSecretValue",), ("arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/db-AbC123",)),
        (("ssm:GetParameters",), (TOKEN_PARAM,)),
    }


def test_job_role_has_the_declared_permissions(tpl: dict[str, Any]) -> None:
    container = job_definition(tpl, "extract")["ContainerProperties"]
    assert statements(tpl, ref_id(container["JobRoleArn"])) == [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "arn:aws:s3:::sales-raw/*"}
    ]


def test_long_python_task_runs_the_runner_on_batch_and_may_read_its_execution(tpl: dict[str, Any]) -> None:
    props = job_definition(tpl, "crunch")
    container = props["ContainerProperties"]
    assert container["Command"] == ["python", "-m", "orchestrator.batch_entry", "jobs.crunch:main"]
    assert container["Image"] == ECR_IMAGE
    assert props["Timeout"] == {"AttemptDurationSeconds": 7200}
    (describe,) = statements(tpl, ref_id(container["JobRoleArn"]))
    assert describe["Action"] == "states:DescribeExecution"
    executions = sorted(r["Fn::Join"][1][-1] for r in listed(describe["Resource"]))
    assert executions == sorted(f":states:eu-central-1:123456789012:execution:{name}:*" for name in COMPILED.texts)


def test_lambda_role_has_the_declared_permissions(tpl: dict[str, Any]) -> None:
    (fn,) = resources(tpl, "AWS::Lambda::Function").values()
    assert fn["Properties"]["Handler"] == "jobs.done.handler"
    assert fn["Properties"]["MemorySize"] == 256
    assert {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "arn:aws:s3:::sales-raw/*"} in statements(
        tpl, ref_id(fn["Properties"]["Role"])
    )


def test_ec2_queue_gets_its_own_spot_then_on_demand_environments(tpl: dict[str, Any]) -> None:
    environments = resources(tpl, "AWS::Batch::ComputeEnvironment")
    kinds = {k: e["Properties"]["ComputeResources"]["Type"] for k, e in environments.items()}
    assert sorted(kinds.values()) == ["EC2", "FARGATE", "FARGATE_SPOT", "SPOT"]
    by_priority = {q["Properties"]["Priority"]: q["Properties"] for q in resources(tpl, "AWS::Batch::JobQueue").values()}
    order = sorted(by_priority[5]["ComputeEnvironmentOrder"], key=lambda o: o["Order"])
    assert [kinds[ref_id(o["ComputeEnvironment"])] for o in order] == ["SPOT", "EC2"]
    assert environments[ref_id(order[0]["ComputeEnvironment"])]["Properties"]["ComputeResources"]["MaxvCpus"] == 64
    props = job_definition(tpl, "render")
    assert props["PlatformCapabilities"] == ["EC2"]
    assert "NetworkConfiguration" not in props["ContainerProperties"]


def test_public_image_needs_no_pull_permissions(tpl: dict[str, Any]) -> None:
    container = job_definition(tpl, "render")["ContainerProperties"]
    pulled = [s for s in statements(tpl, ref_id(container["ExecutionRoleArn"])) if "ecr" in str(s["Action"])]
    assert pulled == []


# --- child machines -----------------------------------------------------------------------------


def test_every_machine_is_deployed_with_all_its_placeholders_substituted(tpl: dict[str, Any]) -> None:
    deployed = machines(tpl)
    assert set(deployed) == set(COMPILED.texts)
    for name, props in deployed.items():
        assert props["DefinitionString"] == COMPILED.deployed[name]
        needed = {key[2:-1] for key in COMPILED.placeholders if key in COMPILED.deployed[name]}
        assert set(props["DefinitionSubstitutions"]) == needed
        assert props["TracingConfiguration"] == {"Enabled": True}


def test_parent_starts_its_children_and_nothing_else_of_theirs(tpl: dict[str, Any]) -> None:
    deployed = machines(tpl)
    parent = deployed[COMPILED.main]
    children = {k.removeprefix("StateMachine_") for k in parent["DefinitionSubstitutions"] if k.startswith("StateMachine_")}
    assert children
    by_action: dict[str, dict[str, Any]] = {a: s for s in role_statements(tpl, COMPILED.main) for a in actions(s)}
    started = {ref_id(r) for r in listed(by_action["states:StartExecution"]["Resource"])}
    ids = {p["StateMachineName"]: k for k, p in ((k, v["Properties"]) for k, v in resources(tpl, "AWS::StepFunctions::StateMachine").items())}
    assert started == {ids[c] for c in children}
    assert by_action["states:DescribeExecution"] is by_action["states:StopExecution"]
    rule = by_action["events:PutRule"]
    assert "StepFunctionsGetEventsForStepFunctionsExecutionRule" in str(rule["Resource"])


def test_each_machine_submits_only_its_own_job_definitions(tpl: dict[str, Any]) -> None:
    for name, props in machines(tpl).items():
        own = {ref_id(v) for k, v in props["DefinitionSubstitutions"].items() if k.startswith(("JobDefinition_", "JobQueue_"))}
        submit = [s for s in role_statements(tpl, name) if "batch:SubmitJob" in actions(s)]
        if not own:
            assert submit == []
            continue
        (statement,) = submit
        assert {ref_id(r) for r in listed(statement["Resource"])} == own


def test_existing_topic_is_published_to_by_arn(tpl: dict[str, Any]) -> None:
    assert resources(tpl, "AWS::SNS::Topic") == {}
    publish = [s for s in role_statements(tpl, COMPILED.main) if "sns:Publish" in actions(s)]
    assert publish == [{"Action": "sns:Publish", "Effect": "Allow", "Resource": TOPIC}]
    (rule,) = resources(tpl, "AWS::Events::Rule").values()
    assert rule["Properties"]["Targets"][0]["Arn"] == TOPIC
    assert rule["Properties"]["EventPattern"]["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]


# --- schedule and tags --------------------------------------------------------------------------


def test_flexible_window_and_disabled_schedule(tpl: dict[str, Any]) -> None:
    (schedule,) = resources(tpl, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert props["ScheduleExpressionTimezone"] == "America/New_York"
    assert props["State"] == "DISABLED"


def test_workflow_tags_on_resources(tpl: dict[str, Any]) -> None:
    for props in machines(tpl).values():
        tags = {t["Key"]: t["Value"] for t in props["Tags"]}
        assert tags == {"orchestrator:workflow": "options-demo", "team": "data", "cost-center": "42"}
    for queue in resources(tpl, "AWS::Batch::JobQueue").values():
        assert queue["Properties"]["Tags"]["team"] == "data"


# --- a workflow without notify or schedule ----------------------------------------------------


def test_without_notify_there_is_no_topic_and_no_rule_but_an_alarm(quiet: dict[str, Any]) -> None:
    assert resources(quiet, "AWS::SNS::Topic") == {}
    assert resources(quiet, "AWS::Events::Rule") == {}
    (alarm,) = resources(quiet, "AWS::CloudWatch::Alarm").values()
    assert "AlarmActions" not in alarm["Properties"]


def test_without_batch_or_schedule_there_is_no_vpc_queue_or_schedule(quiet: dict[str, Any]) -> None:
    for kind in ("AWS::EC2::VPC", "AWS::Batch::JobQueue", "AWS::Scheduler::Schedule", "AWS::SQS::Queue"):
        assert resources(quiet, kind) == {}
    (sm,) = resources(quiet, "AWS::StepFunctions::StateMachine").values()
    assert set(sm["Properties"]["DefinitionSubstitutions"]) == {"Function_ping"}
    role = ref_id(sm["Properties"]["RoleArn"])
    found = {a for s in statements(quiet, role) for a in actions(s) if not a.startswith("logs:")}
    assert found == {"lambda:InvokeFunction"}


# --- problems found before synthesis (no jsii needed) -------------------------------------------


def test_fargate_size_mismatch_is_reported_with_the_allowed_sizes() -> None:
    wf = model.Workflow(name="w", tasks=(
        model.Task(name="big", job=model.BatchJob(image="x", vcpus=1, memory=512)),
        model.Task(name="odd", job=model.BatchJob(image="x", vcpus=3, memory=4096)),
    ))
    found = [(p.where, p.message, p.fix) for p in problems(wf)]
    assert found == [
        ("task 'big' fields 'vcpus', 'memory'", "Fargate has no size of 1 vCPU with 512 MiB",
         "memory: one of 2048, 3072, 4096, 5120, 6144, 7168, 8192"),
        ("task 'odd' fields 'vcpus', 'memory'", "Fargate has no size of 3 vCPU with 4096 MiB",
         "vcpus: one of 0.25, 0.5, 1, 2, 4, 8, 16"),
    ]


def test_undeclared_queue_mixed_compute_and_missing_image_are_all_reported() -> None:
    wf = model.Workflow(
        name="w",
        queues=(model.Queue(name="mixed", compute=(model.Compute.FARGATE_SPOT, model.Compute.EC2)),),
        tasks=(
            model.Task(name="a", job=model.BatchJob(image="x", queue="nowhere")),
            model.Task(name="b", timeout=3600, job=model.PythonTask(function="m:f", memory=2048)),
            model.Task(name="c", job=model.BatchJob(image="x", secrets={"S": "plain-text"})),
        ),
    )
    with pytest.raises(DeployError) as raised:
        WorkflowStack(cdk.App(), "w", workflow=wf)
    assert [p.where for p in raised.value.problems] == [
        "queue 'mixed' field 'compute'",
        "task 'a' field 'queue'",
        "task 'b' field 'image'",
        "task 'c' field 'secrets.S'",
    ]
    assert raised.value.problems[1].message == "names queue 'nowhere', which is not declared"


def test_private_subnets_need_a_vpc_that_has_them() -> None:
    wf = model.Workflow(name="w", tasks=(model.Task(name="t", job=model.BatchJob(image="x", memory=2048)),))
    with pytest.raises(DeployError, match="is false, but the VPC has no private subnets"):
        WorkflowStack(cdk.App(), "w", workflow=wf, options=DeployOptions(project_root=ROOT, public_subnets=False))


def test_lambda_memory_out_of_range() -> None:
    wf = model.Workflow(name="w", tasks=(model.Task(name="t", job=model.LambdaTask(handler="m:f", memory=64)),))
    (problem,) = problems(wf)
    assert problem.message == "Lambda memory must be between 128 and 10240 MiB. Received 64."
    assert problem.fix == "memory: 128"


@pytest.mark.parametrize(
    ("spec", "handler"),
    [("m:f", "m.f"), ("pkg.mod:fn", "pkg.mod.fn"), ("jobs/checks.py:fresh", "jobs/checks.fresh"), ("m.f", "m.f")],
)
def test_lambda_handler_form(spec: str, handler: str) -> None:
    assert lambda_handler(spec) == handler


def test_partial_secret_arn_is_matched_with_the_random_suffix() -> None:
    assert secret_resource("arn:aws:secretsmanager:eu-west-1:123456789012:secret:db") == (
        "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-??????"
    )



def test_these_stacks_pass_cfn_lint_and_checkov_too(app: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # Child machines, an imported topic, EC2 and Python tasks on Batch, secrets and private ECR
    # images: what the examples do not cover is linted here.
    from tests.test_cdk_lint import findings, run_checkov

    for name, template in app.items():
        (tmp_path / f"{name}.template.json").write_text(json.dumps(template))
    assert {p.name: findings(p) for p in sorted(tmp_path.iterdir())} == {
        p.name: [] for p in sorted(tmp_path.iterdir())}
    assert [(c["check_id"], c["resource"]) for c in run_checkov(tmp_path)["results"]["failed_checks"]] == []
