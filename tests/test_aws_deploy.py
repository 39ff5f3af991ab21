"""Deploying compiled state machines with boto3, against moto: substitutions, order, idempotence."""

from __future__ import annotations

import copy
import dataclasses
import doctest
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_fixtures import REGION, fake_credentials  # noqa: F401

from orchestrator import model
from orchestrator.aws.deploy import (
    HASH_TAG,
    check_substitutions,
    deploy,
    deploy_order,
    deploy_state_machines,
    load_substitutions,
)
from orchestrator.aws.errors import AwsError, SubstitutionError
from orchestrator.compiler import CompileResult, compile_workflow
from orchestrator.errors import DefinitionError
from orchestrator.placeholders import substitute

ROLE = "arn:aws:iam::123456789012:role/sfn"
EXAMPLES = Path(__file__).parent.parent / "state_machines"


@pytest.fixture()
def sfn() -> Iterator[Any]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("stepfunctions", region_name=REGION)


def calls(client: Any) -> list[str]:
    """Names of the API operations ``client`` makes from now on."""
    made: list[str] = []
    client.meta.events.register("before-call.sfn.*", lambda model, **_: made.append(model.name))
    return made


def lam(name: str, after: tuple[str, ...] = ()) -> model.Task:
    return model.Task(name=name, job=model.LambdaTask(handler="m:f"), after=after)


def chain(name: str = "chain", length: int = 40) -> model.Workflow:
    return model.Workflow(name=name, tasks=tuple(
        lam(f"t{i}", (f"t{i - 1}",) if i else ()) for i in range(length)))


def split_chain() -> CompileResult:
    """Small limits split the chain into ``chain`` calling ``chain-part-1`` and ``chain-part-2``."""
    result = compile_workflow(chain(), max_history_events=400, max_definition_bytes=30_000)
    assert sorted(result.definitions) == ["chain", "chain-part-1", "chain-part-2"]
    return result


def function_subs(result: CompileResult) -> dict[str, str]:
    return {p[2:-1]: f"arn:aws:lambda:{REGION}:123456789012:function:{p[11:-1]}"
            for p in result.placeholders if p.startswith("${Function_")}


SMALL = model.Workflow(name="hello", tasks=(lam("a"), lam("b", ("a",))))
SMALL_SUBS = {"Function_a": f"arn:aws:lambda:{REGION}:123456789012:function:a",
              "${Function_b}": f"arn:aws:lambda:{REGION}:123456789012:function:b"}


# -- substitutions -------------------------------------------------------------------------------


def test_missing_substitutions_are_all_named_with_how_to_supply_them() -> None:
    wf = model.Workflow(name="nightly", notify=model.Notify(), tasks=(
        model.Task(name="load", job=model.BatchJob(image="img", command=("run",))), lam("check", ("load",))))
    with pytest.raises(SubstitutionError) as caught:
        check_substitutions(compile_workflow(wf), {"JobQueue_default": "arn:q"})
    assert str(caught.value) == """\
Cannot deploy 'nightly': 3 placeholders have no value:
  ${AlertTopicArn}: the ARN of the SNS topic for failure alerts
  ${Function_check}: the ARN of the Lambda function of task 'check'
  ${JobDefinition_load}: the ARN of the Batch job definition of task 'load'
fix: add them to the substitutions file (--substitutions FILE: a JSON object, keys without ${}), e.g.
  {
    "AlertTopicArn": "arn:aws:sns:REGION:ACCOUNT:NAME",
    "Function_check": "arn:aws:lambda:REGION:ACCOUNT:function:NAME",
    "JobDefinition_load": "arn:aws:batch:REGION:ACCOUNT:job-definition/NAME:REVISION"
  }"""
    assert caught.value.missing == ("AlertTopicArn", "Function_check", "JobDefinition_load")


def test_missing_substitution_is_raised_before_any_call(sfn: Any) -> None:
    made = calls(sfn)
    with pytest.raises(SubstitutionError, match=r"^Cannot deploy 'hello': 1 placeholder has no value:\n"
                                                r"  \$\{Function_b\}: the ARN of the Lambda function of task 'b'\n"):
        deploy_state_machines(compile_workflow(SMALL), role_arn=ROLE, client=sfn,
                              substitutions={"Function_a": "arn:f"})
    assert made == []


def test_children_are_filled_in_by_the_deploy_not_the_user() -> None:
    result = split_chain()
    check_substitutions(result, function_subs(result))  # no StateMachine_ entries needed


def test_substitutions_file_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"Function_a": "arn:a"}')
    (tmp_path / "s.yaml").write_text("Function_a: arn:a\n")
    assert load_substitutions(tmp_path / "s.json") == load_substitutions(tmp_path / "s.yaml") == {"Function_a": "arn:a"}
    (tmp_path / "bad.json").write_text('["arn:a"]')
    with pytest.raises(SubstitutionError, match=r"bad.json: must be an object of placeholder names to strings"):
        load_substitutions(tmp_path / "bad.json")
    with pytest.raises(SubstitutionError, match=r"none.json: cannot read the substitutions file"):
        load_substitutions(tmp_path / "none.json")


# -- order and idempotence -----------------------------------------------------------------------


def test_children_first_and_their_arns_substituted_into_the_parent(sfn: Any) -> None:
    result = split_chain()
    assert deploy_order(result) == ["chain-part-1", "chain-part-2", "chain"]
    made = calls(sfn)
    arns = deploy_state_machines(result, role_arn=ROLE, substitutions=function_subs(result), client=sfn)
    assert list(arns) == ["chain-part-1", "chain-part-2", "chain"]
    assert made.count("CreateStateMachine") == 3
    parent = sfn.describe_state_machine(stateMachineArn=arns["chain"])["definition"]
    assert "${" not in parent
    assert arns["chain-part-1"] in parent and arns["chain-part-2"] in parent
    assert json.loads(parent)["States"]  # still JSON after substitution


def test_deploying_twice_writes_nothing_the_second_time(sfn: Any) -> None:
    result = compile_workflow(SMALL)
    first = deploy(result, role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn, tags={"team": "data"})
    assert [(d.name, d.action) for d in first] == [("hello", "created")]
    tags = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=first[0].arn)["tags"]}
    assert tags["team"] == "data" and len(tags[HASH_TAG]) == 64
    made = calls(sfn)
    second = deploy(result, role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn, tags={"team": "data"})
    assert [(d.name, d.arn, d.action) for d in second] == [("hello", first[0].arn, "unchanged")]
    assert not {"CreateStateMachine", "UpdateStateMachine", "TagResource"} & set(made)


def test_a_changed_definition_role_or_substitution_is_an_update(sfn: Any) -> None:
    arn = deploy_state_machines(compile_workflow(SMALL), role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn)["hello"]
    changed = model.Workflow(name="hello", tasks=(lam("a"), lam("b", ("a",))), timeout=600)
    made = calls(sfn)
    again = deploy(compile_workflow(changed), role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn)
    assert [(d.arn, d.action) for d in again] == [(arn, "updated")]
    assert made.count("UpdateStateMachine") == 1
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])["TimeoutSeconds"] == 600

    other_role = "arn:aws:iam::123456789012:role/other"
    (moved,) = deploy(compile_workflow(changed), role_arn=other_role, substitutions=SMALL_SUBS, client=sfn)
    assert moved.action == "updated"
    assert sfn.describe_state_machine(stateMachineArn=arn)["roleArn"] == other_role
    subs = {**SMALL_SUBS, "Function_a": "arn:aws:lambda:us-east-1:123456789012:function:a2"}
    (resubstituted,) = deploy(compile_workflow(changed), role_arn=other_role, substitutions=subs, client=sfn)
    assert resubstituted.action == "updated"
    assert "function:a2" in sfn.describe_state_machine(stateMachineArn=arn)["definition"]


def test_only_the_changed_machine_of_a_split_workflow_is_updated(sfn: Any) -> None:
    result = split_chain()
    subs = function_subs(result)
    deploy_state_machines(result, role_arn=ROLE, substitutions=subs, client=sfn)
    changed = {**subs, "Function_t0": "arn:aws:lambda:us-east-1:123456789012:function:new"}
    owner = next(n for n, t in result.texts.items() if "${Function_t0}" in t)
    actions = {d.name: d.action for d in deploy(result, role_arn=ROLE, substitutions=changed, client=sfn)}
    assert actions == {n: ("updated" if n == owner else "unchanged") for n in result.definitions}


# -- validation ----------------------------------------------------------------------------------


class Validating:
    """A Step Functions client whose ValidateStateMachineDefinition answers ``answer``."""

    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.answer = answer
        self.validated: list[str] = []

    def validate_state_machine_definition(self, *, definition: str, type: str) -> dict[str, Any]:
        self.validated.append(definition)
        if self.answer is None:
            raise NotImplementedError("The validate_state_machine_definition action has not been implemented")
        return self.answer

    def get_paginator(self, name: str) -> Any:  # pragma: no cover - validation fails first
        raise AssertionError("no write after a failed validation")


def test_validation_failures_stop_the_deploy_before_any_write() -> None:
    client = Validating({"result": "FAIL", "diagnostics": [
        {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "bad Next", "location": "/States/a"},
        {"severity": "WARNING", "code": "W", "message": "ignored"}]})
    with pytest.raises(DefinitionError, match=r"^state machine 'hello' at /States/a: SCHEMA_VALIDATION_FAILED: bad Next$"):
        deploy(compile_workflow(SMALL), role_arn=ROLE, substitutions=SMALL_SUBS, client=client)
    assert "arn:aws:lambda:us-east-1:123456789012:function:a" in client.validated[0]


def test_where_moto_lacks_validation_the_local_validator_runs_with_one_notice(sfn: Any) -> None:
    # moto 5 raises NotImplementedError for ValidateStateMachineDefinition; the deploy goes on.
    made = calls(sfn)
    notices: list[str] = []
    result = split_chain()  # three machines, one notice
    deploy(result, role_arn=ROLE, substitutions=function_subs(result), client=sfn, notice=notices.append)
    assert "CreateStateMachine" in made
    assert notices == ["notice: AWS does not implement ValidateStateMachineDefinition; validated with the local "
                       "validator instead"]


def test_the_local_validator_stops_a_bad_definition_before_any_write(sfn: Any) -> None:
    result = compile_workflow(SMALL)
    definition = copy.deepcopy(result.definitions["hello"])
    first = definition["StartAt"]
    definition["States"][first].pop("End", None)
    definition["States"][first]["Next"] = "nowhere"
    broken = dataclasses.replace(result, definitions={"hello": definition})
    made = calls(sfn)
    with pytest.raises(DefinitionError, match=r"^state machine 'hello' state '.*' field 'Next'"):
        deploy(broken, role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn, notice=lambda _: None)
    assert "CreateStateMachine" not in made


def live(sfn: Any, machine_arn: str) -> str:
    (alias,) = sfn.list_state_machine_aliases(stateMachineArn=machine_arn)["stateMachineAliases"]
    (route,) = sfn.describe_state_machine_alias(
        stateMachineAliasArn=alias["stateMachineAliasArn"])["routingConfiguration"]
    return str(route["stateMachineVersionArn"])


def test_each_change_publishes_a_version_and_moves_live_to_it(sfn: Any) -> None:
    (first,) = deploy(compile_workflow(SMALL), role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn,
                      notice=lambda _: None)
    assert (first.action, first.version_arn, first.alias_arn) == (
        "created", f"{first.arn}:1", f"{first.arn}:live")
    assert live(sfn, first.arn) == f"{first.arn}:1"
    (same,) = deploy(compile_workflow(SMALL), role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn,
                     notice=lambda _: None)
    assert (same.action, same.version_arn) == ("unchanged", None)
    (second,) = deploy(compile_workflow(SMALL), role_arn="arn:aws:iam::123456789012:role/other",
                       substitutions=SMALL_SUBS, client=sfn, notice=lambda _: None)
    assert second.action == "updated"
    assert live(sfn, first.arn) == f"{first.arn}:2"


def test_a_failed_update_leaves_live_where_it_was(sfn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    (first,) = deploy(compile_workflow(SMALL), role_arn=ROLE, substitutions=SMALL_SUBS, client=sfn,
                      notice=lambda _: None)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InvalidDefinition", "Message": "no"}}, "UpdateStateMachine")

    monkeypatch.setattr(sfn, "update_state_machine", refuse)
    with pytest.raises(AwsError, match="UpdateStateMachine on state machine 'hello' .* failed: InvalidDefinition"):
        deploy(compile_workflow(SMALL), role_arn="arn:aws:iam::123456789012:role/other",
               substitutions=SMALL_SUBS, client=sfn, notice=lambda _: None)
    assert live(sfn, first.arn) == f"{first.arn}:1"


def test_doctests() -> None:
    from orchestrator.aws import deploy

    assert doctest.testmod(deploy).failed == 0


# -- the checked-in examples ---------------------------------------------------------------------


def fake_value(key: str) -> str:
    """A well-formed ARN for a placeholder key, whatever its kind."""
    kind, _, name = key.partition("_")
    return {
        "JobQueue": f"arn:aws:batch:{REGION}:123456789012:job-queue/{name}",
        "JobDefinition": f"arn:aws:batch:{REGION}:123456789012:job-definition/{name}:1",
        "Function": f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
    }.get(kind, f"arn:aws:sns:{REGION}:123456789012:alerts")


@pytest.mark.parametrize("path", ["nightly_sales.py", "etl_fanout.py", "disk_hygiene.yaml"])
def test_examples_deploy_and_start(sfn: Any, path: str) -> None:
    from orchestrator.aws import executions
    from orchestrator.spec import load_all

    (wf,) = load_all(EXAMPLES / path)
    result = compile_workflow(wf)
    subs = {p[2:-1]: fake_value(p[2:-1]) for p in result.placeholders}
    arns = deploy_state_machines(result, role_arn=ROLE, client=sfn, substitutions=subs)
    deployed = sfn.describe_state_machine(stateMachineArn=arns[wf.name])["definition"]
    assert "${" not in deployed
    # What is deployed is the checked-in compiled ASL with its placeholders filled in.
    checked_in = json.loads((EXAMPLES / f"{wf.name}.asl.json").read_text())
    assert json.loads(deployed) == substitute(checked_in, subs)
    started = executions.start(arns[wf.name], {"day": "2024-06-01"}, name="run-1", client=sfn)
    assert executions.describe(started["executionArn"], client=sfn)["input"] == {"day": "2024-06-01"}
    assert [e["name"] for e in executions.list_executions(arns[wf.name], client=sfn)] == ["run-1"]
    assert executions.history(started["executionArn"], client=sfn)[0]["type"] == "ExecutionStarted"
