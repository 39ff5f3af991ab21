"""One customer-managed KMS key per workflow: the alert topic, the schedule's dead-letter queue,
the log groups and the Lambda environments are encrypted with it.

One key rather than one per resource: a key costs $1 a month whatever it encrypts, and every
resource it protects belongs to the same workflow, deployed and deleted with it. Rotation is on
(yearly, as security reviews ask: checkov CKV_AWS_7).

The key policy is written out here instead of CDK's default, because that default grants the
account ``kms:*`` and this package allows no IAM action wildcard. It names every action:

* the account (its IAM policies) may administer and use the key. ``kms:PutKeyPolicy`` is among
  the actions, so an administrator can always widen the policy later: the key cannot be locked;
* SNS publishers that are AWS services (EventBridge for the status-change rule, CloudWatch for
  the alarm) need ``kms:GenerateDataKey`` and ``kms:Decrypt`` in the key policy itself, since
  they have no IAM role in the account ("Enable compatibility between event sources from AWS
  services and encrypted topics", Amazon SNS Developer Guide);
* CloudWatch Logs encrypts a log group with the key only if the key policy allows the regional
  logs principal, for log groups of this account and region ("Encrypt log data in CloudWatch
  Logs using AWS KMS", CloudWatch Logs User Guide).

* the roles of the stack that publish (the state machines sending alerts, the schedule's role
  sending to its dead-letter queue) are named in the key policy too, for ``kms:GenerateDataKey``
  and ``kms:Decrypt`` through that one service only (``kms:ViaService``), and so is each Lambda
  function's role for ``kms:Decrypt`` through Lambda (its environment is encrypted with the key):
  their IAM policies stay about what they call, and the key says who may use it.

In a key policy, ``Resource: "*"`` means "this key" (a key policy can name no other resource).
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What the account's IAM policies may do with the key: every KMS action that applies to a
# symmetric encryption key (AWS KMS API reference, "Actions"), listed instead of "kms:*".
ACCOUNT_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation",
    "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant",
    "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)
# What a publisher to an encrypted topic, or a sender to an encrypted queue, needs.
PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
# What CloudWatch Logs needs to encrypt and read a log group's events.
LOGS_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom",
                "kms:ReEncryptTo")
# AWS services that publish alerts to the topic without a role of the account.
ALERT_PUBLISHERS = ("events.amazonaws.com", "cloudwatch.amazonaws.com")


def _this_key() -> list[str]:
    # A key policy applies to its own key only: "*" is the only resource it can name.
    return ["*"]


class WorkflowKey(Construct):
    """``key``: the workflow's KMS key, with the policy described in this module's docstring."""

    def __init__(self, scope: Construct, id: str, *, workflow_name: str) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        same_account = {"StringEquals": {"aws:SourceAccount": stack.account}}
        log_groups = stack.format_arn(service="logs", resource="log-group", resource_name="*",
                                      arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        policy = iam.PolicyDocument(statements=[
            iam.PolicyStatement(
                sid="AccountAdministersAndUsesTheKey",
                principals=[iam.AccountRootPrincipal()],
                actions=list(ACCOUNT_ACTIONS),
                resources=_this_key(),
            ),
            iam.PolicyStatement(
                sid="AlertPublishersEncrypt",
                principals=[iam.ServicePrincipal(service) for service in ALERT_PUBLISHERS],
                actions=list(PUBLISH_ACTIONS),
                resources=_this_key(),
                conditions=same_account,
            ),
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_ACTIONS),
                resources=_this_key(),
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            ),
        ])
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts the alerts, dead letters, logs and function settings of {workflow_name}"[:8192],
            enable_key_rotation=True,
            policy=policy,
            # Deleting the stack schedules the key's deletion (after KMS's 30-day waiting period,
            # during which it can be cancelled): a retained key would bill $1 a month for nothing.
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )

    def allow_senders(self, sid: str, roles: Sequence[iam.IRole], service: str,
                      actions: tuple[str, ...] = PUBLISH_ACTIONS) -> None:
        """Let ``roles`` use the key through ``service`` only: ``sns`` or ``sqs`` to encrypt what
        they send to the topic or queue, ``lambda`` to decrypt their function's environment. One
        statement for all of them: a key policy holds at most 32 KB."""
        if not roles:
            return
        region = cdk.Stack.of(self).region
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid=sid,
            principals=[iam.ArnPrincipal(role.role_arn) for role in roles],
            actions=list(actions),
            resources=_this_key(),
            conditions={"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}},
        ))
