"""cfn-lint and checkov, as a platform team's CI runs them, on every synthesized example stack;
and the suppressions of ``orchestrator.cdk.lint``: each on one resource, each with its reason,
none hiding anything else."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cdk.lint import (
    LAMBDA_CHECKS_THAT_DO_NOT_APPLY,
    PARALLEL_PARAMETERS_REASON,
    PARALLEL_PARAMETERS_RULE,
    REASONS_KEY,
)

cfnlint_api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed: pip install -e '.[dev]'")

EXAMPLE_STACKS = ["orchestrator-daily-report", "orchestrator-disk-hygiene", "orchestrator-etl-fanout", "orchestrator-network",
                  "orchestrator-nightly-sales"]


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def findings(path: Path) -> list[str]:
    return [f"{m.rule.id} {m.message} at {'/'.join(map(str, m.path))}" for m in cfnlint_api.lint_file(path)]


def test_every_example_is_synthesized(synthesized: list[Path]) -> None:
    assert sorted(p.name.removesuffix(".template.json") for p in synthesized) == EXAMPLE_STACKS


# --- cfn-lint -------------------------------------------------------------------------------------


def test_cfn_lint_finds_no_error_and_no_warning(synthesized: list[Path]) -> None:
    assert {p.name: findings(p) for p in synthesized} == {p.name: [] for p in synthesized}


def test_cfn_lint_is_told_to_ignore_only_parallel_parameters_and_says_why(synthesized: list[Path]) -> None:
    suppressed = []
    for path in synthesized:
        for logical_id, resource in load(path)["Resources"].items():
            config = resource.get("Metadata", {}).get("cfn-lint")
            if config is None:
                continue
            assert resource["Type"] == "AWS::StepFunctions::StateMachine"
            assert config == {"config": {"ignore_checks": [PARALLEL_PARAMETERS_RULE]}}
            assert resource["Metadata"][REASONS_KEY] == {PARALLEL_PARAMETERS_RULE: PARALLEL_PARAMETERS_REASON}
            suppressed.append(logical_id)
    # The machines whose Parallel states pass their branches their input with Parameters.
    assert sorted(suppressed) == ["WorkflowStateMachinesdiskhygieneStateMachine8640B5BB",
                                  "WorkflowStateMachinesetlfanoutStateMachine0833056D"]


def test_without_the_suppression_cfn_lint_sees_only_parallel_parameters(
    synthesized: list[Path], tmp_path: Path
) -> None:
    found = []
    for path in synthesized:
        template = load(path)
        for resource in template["Resources"].values():
            resource.get("Metadata", {}).pop("cfn-lint", None)
        stripped = tmp_path / path.name
        stripped.write_text(json.dumps(template))
        found += findings(stripped)
    assert found
    for finding in found:
        assert finding.startswith(f"{PARALLEL_PARAMETERS_RULE} Additional properties are not allowed "
                                  "('Parameters' was unexpected) at 'States/Parallel ")


# --- checkov --------------------------------------------------------------------------------------


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report on the templates of ``directory`` (the test skips without checkov)."""
    if importlib.util.find_spec("checkov") is None:
        pytest.skip("checkov is not installed (python3 -m pip install checkov): the template security "
                    "checks did not run")
    ran = subprocess.run(
        [sys.executable, "-m", "checkov.main", "--directory", str(directory), "--framework", "cloudformation",
         "--output", "json", "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=600,
    )
    assert ran.returncode in (0, 1), ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    assert isinstance(report, dict), "one framework, one report"
    return dict(report)


@pytest.fixture(scope="module")
def checkov(synthesized: list[Path]) -> dict[str, Any]:
    return run_checkov(synthesized[0].parent)


def test_checkov_fails_no_check(checkov: dict[str, Any]) -> None:
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in checkov["results"]["failed_checks"]]
    assert failed == []
    assert checkov["summary"]["parsing_errors"] == 0
    assert checkov["summary"]["passed"] > 400


def test_checkov_skips_only_lambda_checks_that_do_not_apply_each_with_its_reason(
    checkov: dict[str, Any]
) -> None:
    skipped = checkov["results"]["skipped_checks"]
    assert skipped
    for check in skipped:
        assert check["resource"].startswith("AWS::Lambda::Function.")
        assert check["check_id"] in LAMBDA_CHECKS_THAT_DO_NOT_APPLY
        assert check["check_result"]["suppress_comment"] == LAMBDA_CHECKS_THAT_DO_NOT_APPLY[check["check_id"]]


# --- what the fixes are -------------------------------------------------------------------------------


def resources(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in load(path)["Resources"].items() if v["Type"] == kind}


def workflow_templates(synthesized: list[Path]) -> list[Path]:
    return [p for p in synthesized if p.name != "orchestrator-network.template.json"]


def test_alert_topic_dead_letters_logs_and_environments_use_the_workflow_key(synthesized: list[Path]) -> None:
    for path in workflow_templates(synthesized):
        (key,) = resources(path, "AWS::KMS::Key")
        assert load(path)["Resources"][key]["Properties"]["EnableKeyRotation"] is True
        by_key = {"Fn::GetAtt": [key, "Arn"]}
        for topic in resources(path, "AWS::SNS::Topic").values():  # daily-report alerts nobody
            assert topic["Properties"]["KmsMasterKeyId"] == by_key
        (queue,) = resources(path, "AWS::SQS::Queue").values()
        assert queue["Properties"]["KmsMasterKeyId"] == by_key
        for group in resources(path, "AWS::Logs::LogGroup").values():
            assert group["Properties"]["KmsKeyId"] == by_key
            assert group["Properties"]["RetentionInDays"] == 30
        for function in resources(path, "AWS::Lambda::Function").values():
            assert function["Properties"]["KmsKeyArn"] == by_key


def key_statements(path: Path) -> dict[str, dict[str, Any]]:
    (key,) = resources(path, "AWS::KMS::Key").values()
    return {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}


def test_key_policy_lets_eventbridge_cloudwatch_and_the_state_machines_publish(synthesized: list[Path]) -> None:
    for path in workflow_templates(synthesized):
        statements = key_statements(path)
        publishers = statements["AlertPublishersEncrypt"]
        assert publishers["Principal"] == {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]}
        assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert statements["SchedulerSendsDeadLetters"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        if not resources(path, "AWS::SNS::Topic"):
            assert "StateMachinesPublishAlerts" not in statements
            continue
        machines = statements["StateMachinesPublishAlerts"]
        roles = {p["Fn::GetAtt"][0] for p in listed(machines["Principal"]["AWS"])}
        machine_roles = {r["Properties"]["RoleArn"]["Fn::GetAtt"][0]
                         for r in resources(path, "AWS::StepFunctions::StateMachine").values()}
        assert roles == machine_roles
        assert machines["Condition"]["StringEquals"]["kms:ViaService"] == {
            "Fn::Join": ["", ["sns.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_policy_of_any_kind_allows_an_action_wildcard(synthesized: list[Path]) -> None:
    # Deny statements may (enforce_ssl denies sqs:* without TLS): that is the safe direction.
    def walk(value: Any) -> list[str]:
        if isinstance(value, dict):
            allowed = value.get("Effect") == "Allow"
            found = [a for a in listed(value.get("Action", [])) if isinstance(a, str) and allowed]
            return found + [a for v in value.values() for a in walk(v)]
        if isinstance(value, list):
            return [a for v in value for a in walk(v)]
        return []

    for path in synthesized:
        actions = walk(load(path)["Resources"])
        assert [a for a in actions if "*" in a] == []


def test_key_policy_resource_is_the_key_and_account_may_still_edit_it(synthesized: list[Path]) -> None:
    for path in workflow_templates(synthesized):
        statements = key_statements(path)
        assert {s["Resource"] for s in statements.values()} == {"*"}  # in a key policy: this key
        assert "kms:PutKeyPolicy" in statements["AccountAdministersAndUsesTheKey"]["Action"]


def test_no_dependency_is_declared_twice(synthesized: list[Path]) -> None:
    for path in synthesized:
        for resource in load(path)["Resources"].values():
            text = json.dumps(resource.get("Properties", {}))
            for target in resource.get("DependsOn", []):
                assert f'"{target}"' not in text


def test_network_names_no_availability_zone(synthesized: list[Path]) -> None:
    (path,) = [p for p in synthesized if p.name == "orchestrator-network.template.json"]
    zones = [s["Properties"]["AvailabilityZone"] for s in resources(path, "AWS::EC2::Subnet").values()]
    assert zones == [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in range(2)]
