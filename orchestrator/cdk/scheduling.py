"""EventBridge Scheduler: start the main state machine on the workflow's schedule.

Scheduler rather than a classic EventBridge rule: time zones (a 02:10 Berlin job stays at 02:10
across daylight saving), flexible windows, a retry policy and a dead-letter queue for starts that
could not be made.

What Scheduler cannot do: ``Schedule.overlap`` (skip a run while the previous one is going) is
not enforced on AWS; runs may overlap. ``catch_up`` is a local-scheduler setting only.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from orchestrator import model
from orchestrator.cdk import iam as policies
from orchestrator.cdk import keys

# Scheduler RetryPolicy: give up on a start that could not be made within an hour (a nightly
# job started later than that is better noticed in the DLQ than run into the working day), after
# at most this many attempts (Scheduler allows 0..185, age 60..86,400 s).
MAX_EVENT_AGE_SECONDS = 3600
MAX_RETRY_ATTEMPTS = 10
DLQ_RETENTION = cdk.Duration.days(14)  # SQS: the longest a message can be kept.


def flexible_window(schedule: model.Schedule) -> scheduler.CfnSchedule.FlexibleTimeWindowProperty:
    if schedule.flexible_window is None:
        return scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF")
    return scheduler.CfnSchedule.FlexibleTimeWindowProperty(
        mode="FLEXIBLE", maximum_window_in_minutes=schedule.flexible_window
    )


class WorkflowSchedule(Construct):
    """The schedule, its execution role (states:StartExecution on this machine only) and its DLQ."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: model.Workflow,
        schedule: model.Schedule,
        state_machine: sfn.IStateMachine,
        key: keys.WorkflowKey,
    ) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        self.dead_letter_queue = sqs.Queue(
            self, "DeadLetters", retention_period=DLQ_RETENTION, enforce_ssl=True,
            encryption=sqs.QueueEncryption.KMS, encryption_master_key=key.key,
        )
        self.role = iam.Role(
            self,
            "Role",
            description=f"EventBridge Scheduler starts {workflow.name}",
            # The confused-deputy guard AWS recommends for Scheduler execution roles.
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
        )
        self.role.add_to_policy(policies.statement(["states:StartExecution"], [state_machine.state_machine_arn]))
        # Scheduler sends undeliverable starts to the DLQ with the execution role.
        self.role.add_to_policy(policies.statement(["sqs:SendMessage"], [self.dead_letter_queue.queue_arn]))
        key.allow_senders("SchedulerSendsDeadLetters", [self.role], "sqs")
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=(workflow.description or f"Starts {workflow.name}")[:512],
            schedule_expression=schedule.expression,
            schedule_expression_timezone=schedule.timezone,
            flexible_time_window=flexible_window(schedule),
            state="ENABLED" if schedule.enabled else "DISABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=state_machine.state_machine_arn,
                role_arn=self.role.role_arn,
                # The execution input: the compiled machine wraps it as $.input for every task.
                input=json.dumps({"scheduled_time": "<aws.scheduler.scheduled-time>"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
                    maximum_retry_attempts=MAX_RETRY_ATTEMPTS,
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letter_queue.queue_arn
                ),
            ),
        )
