"""EventBridge Scheduler: start the main state machine on the workflow's schedule.

Scheduler rather than a classic EventBridge rule: time zones (a 02:10 Berlin job stays at 02:10
across daylight saving), flexible windows, a retry policy and a dead-letter queue for starts that
could not be made.

What Scheduler cannot do: ``Schedule.overlap`` is enforced by the compiled machine itself (its
first state asks Step Functions, see ``compiler.overlap``). ``catch_up`` is a local-scheduler
setting only.

Two alarms notify the workflow's topic (:class:`ScheduleAlarms`): the dead-letter queue holds a
message (a start Scheduler could not make), and no execution succeeded within the schedule's
longest gap between fires plus a grace (a run that never happened, or never finished).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from orchestrator import limits, model
from orchestrator.cdk import iam as policies
from orchestrator.cdk import keys
from orchestrator.spec.cron import Rate, next_fire_times, parse_expression

# Scheduler RetryPolicy: give up on a start that could not be made within an hour (a nightly
# job started later than that is better noticed in the DLQ than run into the working day), after
# at most this many attempts (Scheduler allows 0..185, age 60..86,400 s).
MAX_EVENT_AGE_SECONDS = 3600
MAX_RETRY_ATTEMPTS = 10
DLQ_RETENTION = cdk.Duration.days(14)  # SQS: the longest a message can be kept.


DLQ_ALARM_PERIOD = cdk.Duration.minutes(5)
# Grace after the expected success when the workflow has no timeout: a run takes time too.
DEFAULT_GRACE_SECONDS = 3600
# Fires looked at to find a cron schedule's longest gap (a year of a daily schedule; from a fixed
# instant, so synthesis stays deterministic).
GAP_SAMPLE = 400
GAP_FROM = datetime(2026, 1, 1, tzinfo=UTC)


def longest_gap(schedule: model.Schedule) -> int | None:
    """Seconds between consecutive fires, at most; None for a one-time ``at(...)`` schedule.

    >>> longest_gap(model.Schedule(expression="rate(6 hours)")), longest_gap(model.Schedule(expression="cron(0 9 ? * MON-FRI *)"))
    (21600, 259200)
    """
    expression = parse_expression(schedule.expression)
    if isinstance(expression, Rate):
        return expression.seconds
    fires = next_fire_times(schedule, count=GAP_SAMPLE, after=GAP_FROM)
    if len(fires) < 2:
        return None
    return int(max((b - a).total_seconds() for a, b in zip(fires, fires[1:], strict=False)))


def missed_run_window(workflow: model.Workflow, schedule: model.Schedule) -> tuple[int, int] | None:
    """(period, evaluation periods) of the missed-run alarm, or None when CloudWatch cannot watch
    that long (a gap plus grace over 7 days) or the schedule fires once.

    >>> wf = model.Workflow(name="w", tasks=(), timeout=1800)
    >>> missed_run_window(wf, model.Schedule(expression="cron(10 2 * * ? *)"))   # 24 h + 30 min
    (3600, 25)
    >>> missed_run_window(wf, model.Schedule(expression="rate(15 minutes)"))     # 15 + 30 min
    (300, 9)
    """
    gap = longest_gap(schedule)
    if gap is None:
        return None
    window = gap + (workflow.timeout if workflow.timeout is not None else DEFAULT_GRACE_SECONDS)
    period = 3600 if window >= 6 * 3600 else 300
    periods = -(-window // period)
    if period * periods > (limits.ALARM_WINDOW_MAX if period >= 3600 else limits.ALARM_WINDOW_MAX_SHORT_PERIOD):
        return None
    return period, periods


class ScheduleAlarms(Construct):
    """The dead-letter-queue alarm and the missed-run alarm of one schedule, notifying ``topic``."""

    def __init__(self, scope: Construct, id: str, *, workflow: model.Workflow, schedule: model.Schedule,
                 state_machine: sfn.IStateMachine, dead_letter_queue: sqs.IQueue,
                 topic: sns.ITopic | None) -> None:
        super().__init__(scope, id)
        self.dead_letters = cloudwatch.Alarm(
            self, "DeadLetterAlarm",
            alarm_description=f"{workflow.name}: EventBridge Scheduler could not start a run "
                              "(a message is in the schedule's dead-letter queue)",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=DLQ_ALARM_PERIOD, statistic="Maximum"),
            threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.missed_run: cloudwatch.Alarm | None = None
        window = missed_run_window(workflow, schedule)
        if window is not None:
            period, periods = window
            # Every one of the last `periods` periods without a success: ExecutionsSucceeded has
            # no datapoint at all when nothing succeeded, so missing data is breaching.
            self.missed_run = cloudwatch.Alarm(
                self, "MissedRunAlarm",
                alarm_description=f"{workflow.name}: no execution succeeded in {period * periods // 60} minutes "
                                  f"(schedule {schedule.expression}, its longest gap plus a grace)",
                metric=state_machine.metric_succeeded(period=cdk.Duration.seconds(period), statistic="Sum"),
                threshold=1, evaluation_periods=periods, datapoints_to_alarm=periods,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
                # A disabled schedule starts nothing: the alarm would only cry wolf.
                actions_enabled=schedule.enabled,
            )
        if topic is not None:
            for alarm in (self.dead_letters, self.missed_run):
                if alarm is not None:
                    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))


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
        topic: sns.ITopic | None = None,
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
        self.alarms = ScheduleAlarms(self, "Alarms", workflow=workflow, schedule=schedule,
                                     state_machine=state_machine, dead_letter_queue=self.dead_letter_queue,
                                     topic=topic)
