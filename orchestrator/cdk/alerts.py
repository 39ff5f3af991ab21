"""Where failures are seen: the alert topic, and what a Catch cannot report.

The compiled state machine catches every task failure and publishes one detailed message (task,
error, cause, log stream). What it cannot catch is the execution itself ending TIMED_OUT (the
workflow's ``timeout``) or ABORTED (someone stopped it): no state runs then. An EventBridge rule
on "Step Functions Execution Status Change" covers those, and a CloudWatch alarm on the
ExecutionsFailed / ExecutionsTimedOut metrics covers the case where the alert path itself broke.
FAILED is left out of the rule by default because the Catch path has already sent a better
message for it; ``include_failed=True`` adds it.
"""

from __future__ import annotations

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.interfaces import aws_events as event_refs
from constructs import Construct

from orchestrator import model
from orchestrator.compiler.alerts import ended_alert

STATUS_CHANGE = "Step Functions Execution Status Change"
UNCAUGHT_STATUSES = ("TIMED_OUT", "ABORTED")
ALARM_PERIOD = cdk.Duration.minutes(5)


class AlertTopic(Construct):
    """The SNS topic alerts go to: ``notify.topic_arn`` imported, else a new topic; with the
    e-mail and https webhook subscriptions of ``notify``.

    An imported topic's access policy (and its KMS key, if any) is not managed here: it must let
    ``events.amazonaws.com`` and ``cloudwatch.amazonaws.com`` publish for the rule and the alarm
    to deliver.
    """

    def __init__(
        self, scope: Construct, id: str, *, workflow: model.Workflow, notify: model.Notify, key: kms.IKey
    ) -> None:
        super().__init__(scope, id)
        if notify.topic_arn is not None:
            self.topic: sns.ITopic = sns.Topic.from_topic_arn(self, "Topic", notify.topic_arn)
        else:
            # Encrypted with the workflow's key, whose policy lets the rule, the alarm and the
            # state machines publish (orchestrator.cdk.keys).
            topic = sns.Topic(self, "Topic", display_name=f"{workflow.name} alerts"[:100], enforce_ssl=True,
                              master_key=key)
            # A topic policy replaces SNS's default one (which lets the account publish), so the
            # alarm's publisher is named; the rule's target adds events.amazonaws.com (_AlertTarget).
            topic.add_to_resource_policy(iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ))
            self.topic = topic
        for address in notify.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(address))
        if notify.webhook is not None:
            self.topic.add_subscription(
                subscriptions.UrlSubscription(notify.webhook, protocol=sns.SubscriptionProtocol.HTTPS)
            )


@jsii.implements(events.IRuleTarget)
class _AlertTarget:
    """The alert topic as the status-change rule's target.

    Not ``aws_events_targets.SnsTopic``: for an encrypted topic it adds a key policy statement
    with ``kms:GenerateDataKey*``, an action wildcard, where the workflow key already lets
    EventBridge use exactly ``kms:GenerateDataKey`` and ``kms:Decrypt`` (orchestrator.cdk.keys).
    The topic policy statement it would add is added here, limited to this rule.
    """

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self._topic = topic
        self._message = message

    def bind(self, rule: event_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        self._topic.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[self._topic.topic_arn],
            conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
        ))
        return events.RuleTargetConfig(arn=self._topic.topic_arn, input=self._message)


class ExecutionWatch(Construct):
    """The status-change rule and the failure alarm of one (main) state machine."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: model.Workflow,
        state_machine: sfn.StateMachine,
        topic: sns.ITopic | None,
        include_failed: bool = False,
    ) -> None:
        super().__init__(scope, id)
        statuses = (["FAILED"] if include_failed else []) + list(UNCAUGHT_STATUSES)
        # Without a topic there is nowhere to send the event: no rule (the alarm still shows).
        self.rule: events.Rule | None = None
        if topic is not None:
            self.rule = events.Rule(
                self,
                "StatusRule",
                description=f"{workflow.name}: executions that end {', '.join(statuses)}",
                event_pattern=events.EventPattern(
                    source=["aws.states"],
                    detail_type=[STATUS_CHANGE],
                    detail={"status": statuses, "stateMachineArn": [state_machine.state_machine_arn]},
                ),
            )
            # The layout of the compiled failure alert (compiler.alerts.ended_alert), filled in by
            # EventBridge's input transformer from the event.
            _, message = ended_alert(
                workflow.name, status=events.EventField.from_path("$.detail.status"),
                name=events.EventField.from_path("$.detail.name"),
                execution=events.EventField.from_path("$.detail.executionArn"),
                region=events.EventField.from_path("$.region"), timeout=workflow.timeout)
            self.rule.add_target(_AlertTarget(topic, events.RuleTargetInput.from_text(message)))

        metric = cloudwatch.MathExpression(
            expression="failed + timed_out",
            using_metrics={
                "failed": state_machine.metric_failed(period=ALARM_PERIOD, statistic="Sum"),
                "timed_out": state_machine.metric_timed_out(period=ALARM_PERIOD, statistic="Sum"),
            },
            label="ExecutionsFailed + ExecutionsTimedOut",
            period=ALARM_PERIOD,
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "FailureAlarm",
            alarm_description=f"{workflow.name}: an execution failed or timed out",
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if topic is not None:
            self.alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
