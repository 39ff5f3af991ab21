"""Everything one compiled workflow needs on AWS, as one construct (and a stack around it).

    WorkflowConstruct(scope, "Nightly", workflow=wf)            # compiles wf itself
    WorkflowStack(app, "orchestrator-nightly-sales", workflow=wf, vpc=network.vpc)

The pieces, each from its own module: ``batch`` (compute environments, queues, job definitions),
``functions`` (Lambda), ``alerts`` (topic, status-change rule, alarm), ``machines`` (state
machines with their substitutions and roles), ``scheduling`` (EventBridge Scheduler).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from orchestrator import model
from orchestrator.api import WorkflowLike, workflow_model
from orchestrator.cdk import alerts, batch, functions, keys, machines, scheduling
from orchestrator.compiler import CompileResult, compile_workflow
from orchestrator.errors import Problem, ValidationError

TAG_WORKFLOW = "orchestrator:workflow"
NETWORK_AZS = 2


class DeployError(ValidationError):
    """A workflow that compiles but that AWS would reject (or that cannot be wired up)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployOptions:
    """How a workflow is deployed; the defaults keep cost and privileges low.

    ``project_root`` is the Lambda code (the directory handlers import from) with
    ``asset_excludes`` left out. ``public_subnets`` says whether Batch runs in public subnets with
    a public IP (the default VPC has no NAT gateway) or in private subnets behind NAT.
    """

    project_root: Path = field(default_factory=Path.cwd)
    asset_excludes: tuple[str, ...] = functions.DEFAULT_EXCLUDES
    public_subnets: bool = True
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    log_level: sfn.LogLevel = sfn.LogLevel.ERROR
    tracing: bool = False
    alert_on_failed: bool = False


def network(scope: Construct, id: str = "Vpc") -> ec2.Vpc:
    """Two AZs of public subnets and no NAT gateway.

    A NAT gateway costs ~$32 a month per AZ before traffic, more than many nightly batch
    workloads; Fargate tasks in public subnets with a public IP reach ECR, Secrets Manager and
    CloudWatch Logs directly, and their security group allows no inbound traffic.
    """
    # The first two zones of the region as CloudFormation lists them (Fn::GetAZs), not names
    # looked up at synthesis: the template then names no zone (cfn-lint W3010), deploys
    # unchanged to any region, and synthesizes the same with or without credentials.
    return ec2.Vpc(
        scope,
        id,
        availability_zones=[cdk.Fn.select(i, cdk.Fn.get_azs()) for i in range(NETWORK_AZS)],
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
    )


def problems(wf: model.Workflow) -> list[Problem]:
    """Everything about ``wf`` that would fail at deploy, collected."""
    return batch.problems(wf) + functions.problems(wf)


class WorkflowConstruct(Construct):
    """Batch, Lambda, SNS, Step Functions and the schedule for one workflow.

    ``compiled`` defaults to ``compile_workflow(workflow)``; ``vpc`` to a new :func:`network`
    (only built when a task runs on Batch).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: WorkflowLike,
        compiled: CompileResult | None = None,
        vpc: ec2.IVpc | None = None,
        options: DeployOptions | None = None,
    ) -> None:
        super().__init__(scope, id)
        workflow = workflow_model(workflow, where=f"WorkflowConstruct {id!r} field 'workflow'",
                                  usage=f"WorkflowConstruct(scope, {id!r}, workflow={{}})")
        found = problems(workflow)
        if found:
            raise DeployError(found)
        options = options or DeployOptions()
        compiled = compiled or compile_workflow(workflow)
        self.workflow = workflow
        self.compiled = compiled
        names = list(compiled.texts)
        self.key = keys.WorkflowKey(self, "Key", workflow_name=workflow.name)

        self.batch: batch.BatchResources | None = None
        if batch.batch_tasks(workflow):
            vpc = vpc or network(self)
            if not options.public_subnets and not vpc.private_subnets:
                raise DeployError([Problem(
                    where="deploy option 'public_subnets'",
                    message="is false, but the VPC has no private subnets (the default VPC has public ones only)",
                    fix="deploy into a VPC with private subnets behind NAT: orchestrator deploy -c vpc_id=vpc-0123 "
                    "-c private_subnets=true",
                )])
            subnet_type = ec2.SubnetType.PUBLIC if options.public_subnets else ec2.SubnetType.PRIVATE_WITH_EGRESS
            self.batch = batch.BatchResources(
                self,
                "Batch",
                workflow=workflow,
                vpc=vpc,
                subnets=ec2.SubnetSelection(subnet_type=subnet_type),
                assign_public_ip=options.public_subnets,
                state_machine_names=names,
                log_retention=options.log_retention,
                key=self.key.key,
                project_root=options.project_root,
            )

        self.functions: functions.Functions | None = None
        if functions.lambda_tasks(workflow):
            code = lambda_.Code.from_asset(str(options.project_root), exclude=list(options.asset_excludes))
            self.functions = functions.Functions(
                self,
                "Functions",
                workflow=workflow,
                code=code,
                log_retention=options.log_retention,
                state_machine_names=names,
                key=self.key,
            )

        self.topic: alerts.AlertTopic | None = None
        if workflow.notify is not None:
            self.topic = alerts.AlertTopic(self, "Alerts", workflow=workflow, notify=workflow.notify,
                                           key=self.key.key)
        owns_topic = self.topic is not None and workflow.notify is not None and workflow.notify.topic_arn is None

        targets = machines.Targets.build(
            queues={n: q.job_queue_arn for n, q in self.batch.queues.items()} if self.batch else {},
            job_definitions=(
                {n: d.job_definition_arn for n, d in self.batch.job_definitions.items()} if self.batch else {}
            ),
            functions={n: f.function_arn for n, f in self.functions.functions.items()} if self.functions else {},
            topic=self.topic.topic.topic_arn if self.topic is not None and owns_topic else None,
            literal_topic=workflow.notify.topic_arn if workflow.notify is not None else None,
            job_logs=((self.batch.log_group.log_group_name, self.batch.log_group.log_group_arn)
                      if self.batch is not None and self.batch.log_group is not None else None),
        )
        self.machines = machines.StateMachines(
            self,
            "StateMachines",
            workflow=workflow,
            compiled=compiled,
            targets=targets,
            log_retention=options.log_retention,
            log_level=options.log_level,
            tracing=options.tracing,
            key=self.key,
            publishes_to_key=owns_topic,
        )
        self.state_machine = self.machines.machines[compiled.main]
        self.watch = alerts.ExecutionWatch(
            self,
            "Watch",
            workflow=workflow,
            state_machine=self.state_machine,
            topic=self.topic.topic if self.topic is not None else None,
            include_failed=options.alert_on_failed,
        )
        self.schedule: scheduling.WorkflowSchedule | None = None
        if workflow.schedule is not None:
            self.schedule = scheduling.WorkflowSchedule(
                self, "Schedule", workflow=workflow, schedule=workflow.schedule, state_machine=self.state_machine,
                key=self.key, topic=self.topic.topic if self.topic is not None else None,
            )

        tags = cdk.Tags.of(self)
        tags.add(TAG_WORKFLOW, workflow.name)
        for key, value in workflow.tags.items():
            tags.add(key, value)
        cdk.CfnOutput(self, "StateMachineArn", value=self.state_machine.state_machine_arn)


class WorkflowStack(cdk.Stack):
    """One workflow per stack: deployed, rolled back and deleted on its own.

    ``vpc`` is a VPC of another stack (e.g. :class:`NetworkStack`); ``vpc_id`` looks an existing
    VPC up instead (needs an explicit account/region ``env`` and, once, credentials: the result is
    cached in ``cdk.context.json``). With neither, the stack builds its own :func:`network`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: WorkflowLike,
        compiled: CompileResult | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_id: str | None = None,
        options: DeployOptions | None = None,
        env: cdk.Environment | None = None,
    ) -> None:
        workflow = workflow_model(workflow, where=f"WorkflowStack {id!r} field 'workflow'",
                                  usage=f"WorkflowStack(app, {id!r}, workflow={{}})")
        super().__init__(
            scope, id, env=env, description=(workflow.description or f"Workflow {workflow.name}")[:1024]
        )
        # Strong references (Fn::ImportValue) to the network stack: CloudFormation then refuses to
        # delete the VPC while a workflow stack still runs jobs in it.
        cdk.CrossStackReferences.of(self).consume(cdk.ReferenceStrength.STRONG)
        if vpc is None and vpc_id is not None and batch.batch_tasks(workflow):
            vpc = ec2.Vpc.from_lookup(self, "Vpc", vpc_id=vpc_id)
        self.workflow = WorkflowConstruct(
            self, "Workflow", workflow=workflow, compiled=compiled, vpc=vpc, options=options
        )


class NetworkStack(cdk.Stack):
    """The new VPC Batch runs in, shared by every workflow stack of the app: VPCs are a quota of
    five per region, and one VPC per workflow buys nothing."""

    def __init__(self, scope: Construct, id: str, *, env: cdk.Environment | None = None) -> None:
        super().__init__(scope, id, env=env, description="Network for orchestrator workflows (public subnets, no NAT)")
        self.vpc = network(self)
