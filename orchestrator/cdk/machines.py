"""The compiled state machines, deployed from their ASL text with ``definitionSubstitutions``.

Each ``${Placeholder}`` in a machine's text is filled from the resources built for it, and the
same list decides that machine's IAM role: a machine may call exactly the queues, job
definitions, functions, topic and child machines its own definition names. A placeholder with
no resource is an error here, at synthesis, not a failed execution later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from orchestrator import arns, model
from orchestrator.cdk import iam as policies
from orchestrator.cdk import keys, lint
from orchestrator.compiler import CompileResult
from orchestrator.errors import CompileError
from orchestrator.placeholders import (
    ALERT_TOPIC,
    FUNCTION,
    JOB_DEFINITION,
    JOB_LOG_GROUP,
    JOB_QUEUE,
    STATE_MACHINE,
    key_of,
    placeholder,
    placeholders_in,
)


@dataclass(slots=True)
class Targets:
    """What the placeholders resolve to (ARNs, usually tokens), by placeholder text."""

    job_queues: dict[str, str] = field(default_factory=dict)
    job_definitions: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    topic: str | None = None
    literal_topic: str | None = None  # notify.topic_arn: in the ASL as is, not a placeholder
    # The Batch jobs' log group (name, ARN): the failure path reads the failed attempt's log tail.
    job_logs: tuple[str, str] | None = None

    @classmethod
    def build(
        cls,
        *,
        queues: Mapping[str, str],
        job_definitions: Mapping[str, str],
        functions: Mapping[str, str],
        topic: str | None,
        literal_topic: str | None,
        job_logs: tuple[str, str] | None = None,
    ) -> Targets:
        return cls(
            job_logs=job_logs,
            job_queues={placeholder(JOB_QUEUE, name): arn for name, arn in queues.items()},
            job_definitions={placeholder(JOB_DEFINITION, name): arn for name, arn in job_definitions.items()},
            functions={placeholder(FUNCTION, name): arn for name, arn in functions.items()},
            topic=topic,
            literal_topic=literal_topic,
        )


def children_in(text: str, names: Mapping[str, object]) -> list[str]:
    return [name for name in names if placeholder(STATE_MACHINE, name) in text]


def creation_order(compiled: CompileResult) -> list[str]:
    """Children before the machines that start them (a parent's substitutions need their ARNs)."""
    done: list[str] = []
    pending = dict(compiled.texts)
    while pending:
        ready = [n for n, text in pending.items() if all(c in done for c in children_in(text, compiled.texts) if c != n)]
        if not ready:
            raise CompileError(f"state machines start each other in a cycle: {sorted(pending)}")
        for name in ready:
            done.append(name)
            del pending[name]
    return done


class StateMachines(Construct):
    """``machines[name]`` for the main machine and every child, each with its own role."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: model.Workflow,
        compiled: CompileResult,
        targets: Targets,
        log_retention: logs.RetentionDays,
        log_level: sfn.LogLevel,
        tracing: bool,
        key: keys.WorkflowKey,
        publishes_to_key: bool,
    ) -> None:
        super().__init__(scope, id)
        self.machines: dict[str, sfn.StateMachine] = {}
        self.substitutions: dict[str, dict[str, str]] = {}
        publishers: list[iam.IRole] = []
        for name in creation_order(compiled):
            text = compiled.deployed[name]  # compact, as the quotas were counted
            machine_scope = Construct(self, name)
            values, statements = self._needs(machine_scope, name, text, targets)
            role = iam.Role(
                machine_scope,
                "Role",
                assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
                description=f"State machine {name}",
            )
            for grant in statements:
                role.add_to_policy(grant)
            # /aws/vendedlogs/ is the prefix AWS recommends for Step Functions log groups: it keeps
            # the account's CloudWatch Logs resource policy under its size limit. The group has a
            # fixed name, so it goes with the stack: a retained one would make the next deploy
            # of the same workflow fail with "already exists".
            log_group = logs.LogGroup(
                machine_scope, "Logs", log_group_name=f"/aws/vendedlogs/states/{name}", retention=log_retention,
                removal_policy=RemovalPolicy.DESTROY, encryption_key=key.key,
            )
            if publishes_to_key and placeholder("AlertTopicArn") in text:
                publishers.append(role)
            self.substitutions[name] = values
            self.machines[name] = sfn.StateMachine(
                machine_scope,
                "StateMachine",
                state_machine_name=name,
                definition_body=sfn.DefinitionBody.from_string(text),
                definition_substitutions=values,
                role=role,
                logs=sfn.LogOptions(destination=log_group, level=log_level, include_execution_data=False),
                tracing_enabled=tracing,
            )
            lint.allow_parallel_parameters(self.machines[name], text)
            lint.drop_implied_dependency(self.machines[name], role)
        # The alert topic is encrypted with the workflow key (orchestrator.cdk.keys).
        key.allow_senders("StateMachinesPublishAlerts", publishers, "sns")

    def _needs(
        self, scope: Construct, name: str, text: str, targets: Targets
    ) -> tuple[dict[str, str], list[iam.PolicyStatement]]:
        """(definitionSubstitutions, role statements) for one machine's text."""
        values: dict[str, str] = {}
        submit: list[str] = []
        invoke: list[str] = []
        publish: list[str] = []
        children: list[str] = []
        read_logs: list[str] = []
        missing: list[str] = []
        child_names = {placeholder(STATE_MACHINE, child): child for child in self.machines}
        for found in placeholders_in(text):
            if found in targets.job_queues or found in targets.job_definitions:
                arn = targets.job_queues.get(found) or targets.job_definitions[found]
                submit.append(arn)
            elif found in targets.functions:
                arn = targets.functions[found]
                invoke.append(arn)
            elif found == placeholder(ALERT_TOPIC) and targets.topic is not None:
                arn = targets.topic
                publish.append(arn)
            elif found in child_names:
                arn = self.machines[child_names[found]].state_machine_arn
                children.append(child_names[found])
            elif found == placeholder(JOB_LOG_GROUP) and targets.job_logs is not None:
                arn, group_arn = targets.job_logs  # the value is the group's name
                read_logs.append(group_arn)
            else:
                missing.append(found)
                continue
            values[key_of(found)] = arn
        if missing:
            raise CompileError(
                f"State machine '{name}' uses {', '.join(missing)}, which this stack does not build; "
                "the compiler and orchestrator.cdk disagree on placeholder names (a bug in this package)."
            )
        if targets.literal_topic is not None and targets.literal_topic in text:
            publish.append(targets.literal_topic)

        statements: list[iam.PolicyStatement] = []
        if submit:
            statements += [
                policies.statement([policies.BATCH_SUBMIT], submit),
                # SubmitJob carries Tags (workflow, task, execution): tagging on creation is
                # authorized as batch:TagResource on the new job.
                policies.statement(["batch:TagResource", "batch:TerminateJob"], [policies.batch_job_arn(scope)]),
                # DescribeJobs has no resource-level permissions: "*" is the only resource it accepts.
                policies.statement(["batch:DescribeJobs"], ["*"]),
                policies.statement(
                    policies.EVENTS_RULE_ACTIONS, [policies.events_rule_arn(scope, policies.BATCH_EVENTS_RULE)]
                ),
            ]
        if invoke:
            statements.append(policies.statement([policies.LAMBDA_INVOKE], invoke))
        if publish:
            statements.append(policies.statement([policies.SNS_PUBLISH], publish))
        if arns.integration("aws-sdk:sfn", "listExecutions") in text:
            # notify.on recovery (and the overlap guard) ask about this machine's own executions.
            statements.append(policies.statement(["states:ListExecutions"], [policies.state_machine_arn(scope, name)]))
        if read_logs:
            # The alert's log tail: GetLogEvents on the workflow's own job log group only
            # (its ARN ends in ":*", which covers the group's streams).
            statements.append(policies.statement(["logs:GetLogEvents"], read_logs))
        if children:
            statements += [
                policies.statement([policies.STATES_START], [self.machines[c].state_machine_arn for c in children]),
                policies.statement(
                    policies.STATES_EXECUTION_ACTIONS, [policies.execution_arn(scope, c) for c in children]
                ),
                policies.statement(
                    policies.EVENTS_RULE_ACTIONS, [policies.events_rule_arn(scope, policies.SFN_EVENTS_RULE)]
                ),
            ]
        return values, statements


def unsubstituted(text: str, substitutions: Mapping[str, str]) -> list[str]:
    """Placeholders of ``text`` that ``substitutions`` leaves as they are (should be none)."""
    return [found for found in placeholders_in(text) if key_of(found) not in substitutions]


__all__ = ["StateMachines", "Targets", "creation_order", "unsubstituted"]
