"""What the templates need so that cfn-lint and checkov pass them, each with its reason.

Platform teams run both linters on every template. Everything real is fixed where the resource
is built (the workflow key, log retention, least-privilege roles); what is left here is of two
kinds, each on one resource only and each saying why in the template's Metadata:

* a check that does not apply to that resource (checkov ``Metadata.checkov.skip``);
* a linter that is wrong about the resource (cfn-lint ``Metadata.cfn-lint.config.ignore_checks``,
  with the reason and the AWS documentation beside it under ``Metadata.orchestrator:lint``);

and one tidy-up: CloudFormation dependencies CDK declares twice (cfn-lint W3005).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from constructs import IConstruct

# checkov checks that do not apply to a task's Lambda function, with the reason recorded on it.
LAMBDA_CHECKS_THAT_DO_NOT_APPLY: Mapping[str, str] = {
    "CKV_AWS_116": "Step Functions invokes this function synchronously (lambda:invoke); a dead-letter "
                   "queue only receives failed asynchronous invocations. Failures are retried by the "
                   "state machine and alerted to the workflow's SNS topic.",
    "CKV_AWS_117": "The function calls public AWS APIs only and the workflow VPC has no NAT gateway; "
                   "attaching it to the VPC would cut it off from them (or cost a NAT gateway).",
    "CKV_AWS_115": "Only this workflow's state machine invokes the function, once per run of its task, "
                   "so concurrency is bounded by the workflow; reserved concurrency would take capacity "
                   "from the account pool and fails to deploy in accounts at the default minimum.",
}

# cfn-lint's Step Functions schema has no Parameters on a Parallel state; AWS documents it there
# for JSONPath (the compiler passes each branch its input with it).
PARALLEL_PARAMETERS_RULE = "E3601"
PARALLEL_PARAMETERS_REASON = (
    "cfn-lint's Step Functions schema rejects Parameters on a Parallel state, which AWS documents as a "
    "valid field of Parallel states in JSONPath: "
    "https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html"
)
REASONS_KEY = "orchestrator:lint"


def _cfn(construct: IConstruct) -> cdk.CfnResource:
    resource = construct.node.default_child if not isinstance(construct, cdk.CfnResource) else construct
    assert isinstance(resource, cdk.CfnResource), f"{construct.node.path} has no CloudFormation resource"
    return resource


def skip_checkov(construct: IConstruct, checks: Mapping[str, str]) -> None:
    """Skip these checkov checks on this resource only, each with its reason."""
    resource = _cfn(construct)
    resource.add_metadata("checkov", {"skip": [{"id": check, "comment": reason} for check, reason in checks.items()]})


def _has_parallel_parameters(states: Mapping[str, Any]) -> bool:
    for state in states.values():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Parallel" and "Parameters" in state:
            return True
        nested = [b.get("States", {}) for b in state.get("Branches", ())]
        nested += [p.get("States", {}) for p in (state.get("ItemProcessor"), state.get("Iterator")) if p]
        if any(_has_parallel_parameters(s) for s in nested):
            return True
    return False


def allow_parallel_parameters(construct: IConstruct, definition: str) -> None:
    """On a state machine whose definition has a Parallel state with Parameters, tell cfn-lint
    to leave :data:`PARALLEL_PARAMETERS_RULE` alone (with the reason beside it); others keep
    the rule."""
    if not _has_parallel_parameters(json.loads(definition).get("States", {})):
        return
    resource = _cfn(construct)
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": [PARALLEL_PARAMETERS_RULE]}})
    resource.add_metadata(REASONS_KEY, {PARALLEL_PARAMETERS_RULE: PARALLEL_PARAMETERS_REASON})


@jsii.implements(cdk.IStableListProducer)
class _DependsOnWithout:
    """The resource's DependsOn at synthesis, less the targets it already references."""

    def __init__(self, resource: cdk.CfnResource, implied: Sequence[cdk.CfnResource]) -> None:
        self._resource = resource
        self._implied = {r.node.path for r in implied}

    def produce(self) -> list[str] | None:
        ids = [d.logical_id for d in self._resource.obtain_dependencies()
               if isinstance(d, cdk.CfnResource) and d.node.path not in self._implied]
        return ids or None


def drop_implied_dependency(construct: IConstruct, *targets: IConstruct) -> None:
    """Leave ``targets`` out of the resource's DependsOn: it references them (Ref/GetAtt), which
    already orders them first. CDK lists a function's or state machine's role in both places,
    and cfn-lint warns about the redundancy (W3005)."""
    resource = _cfn(construct)
    producer = _DependsOnWithout(resource, [_cfn(t) for t in targets])
    resource.add_override("DependsOn", cdk.Lazy.list(producer, omit_empty=True))
