"""Deploy compiled state machines with boto3: substitute placeholders, validate, create or update.

The CDK stack (``orchestrator/cdk``) is the way to deploy a whole workflow with its queues,
functions and schedule; this is the direct path for when those already exist (their ARNs given
as substitutions), and what ``orchestrator deploy`` calls.

Order and idempotence:

* Children first. A parent names a child as ``${StateMachine_<child>}`` (contract 2 of
  DESIGN.md), which only has a value once the child exists, so machines are deployed in an order
  where every child precedes its callers, and each ARN is substituted into the callers.
* Update only on change. Each machine carries a tag with the SHA-256 of what was deployed (the
  definition text, the role and the caller's tags), as Metaflow's Step Functions plugin keys its
  deployments on content. A second deploy of the same result makes no write call at all.
* Placeholders are filled by ``orchestrator.placeholders.substitute`` (values only, as CDK's
  ``definitionSubstitutions``), the same function the local runs use.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from orchestrator.aws.errors import (
    AwsError,
    SubstitutionError,
    aws_call,
    boto3_module,
    endpoint_override,
    unimplemented,
)
from orchestrator.aws.errors import client as make_client
from orchestrator.compiler import CompileResult, compact
from orchestrator.errors import DefinitionError, Problem
from orchestrator.placeholders import (
    ALERT_TOPIC,
    FUNCTION,
    JOB_DEFINITION,
    JOB_LOG_GROUP,
    JOB_QUEUE,
    STATE_MACHINE,
    child_of,
    key_of,
    placeholder,
    placeholders_in,
    substitute,
)

HASH_TAG = "orchestrator:definition-sha256"
# The alias that names the version last deployed; start it to run what was deployed last.
ALIAS = "live"
VERSION_DESCRIPTION_MAX = 256  # Step Functions: a version description is at most 256 characters.

Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployed:
    """One state machine after a deploy: ``action`` says whether anything was written."""

    name: str
    arn: str
    action: Action
    version_arn: str | None = None  # the version this deploy published
    alias_arn: str | None = None  # alias ``live``, when this deploy moved it


# -- substitutions -------------------------------------------------------------------------------


def _what(name_key: str) -> tuple[str, str]:
    """What a placeholder stands for, and an example value (the compiler's naming, tasks.py)."""
    kind, _, name = name_key.partition("_")
    if kind == JOB_QUEUE:
        return f"the ARN of Batch job queue '{name}'", "arn:aws:batch:REGION:ACCOUNT:job-queue/NAME"
    if kind == JOB_DEFINITION:
        return (f"the ARN of the Batch job definition of task '{name}'",
                "arn:aws:batch:REGION:ACCOUNT:job-definition/NAME:REVISION")
    if kind == FUNCTION:
        return f"the ARN of the Lambda function of task '{name}'", "arn:aws:lambda:REGION:ACCOUNT:function:NAME"
    if name_key == ALERT_TOPIC:
        return "the ARN of the SNS topic for failure alerts", "arn:aws:sns:REGION:ACCOUNT:NAME"
    if name_key == JOB_LOG_GROUP:
        return ("the name of the CloudWatch Logs group the Batch jobs log to (the alert reads the failed "
                "attempt's last lines from it)", "/aws/batch/job")
    if kind == STATE_MACHINE:
        return f"the ARN of state machine '{name}'", f"arn:aws:states:REGION:ACCOUNT:stateMachine:{name}"
    return "a deploy-time value", "VALUE"


# Filled in when the substitutions file does not say: jobs on existing Batch resources log to
# Batch's own default group unless their job definitions name another.
DEPLOY_DEFAULTS = {JOB_LOG_GROUP: "/aws/batch/job"}


def missing_substitutions(result: CompileResult, substitutions: Mapping[str, str]) -> tuple[str, ...]:
    """Placeholder keys (without ``${}``) that neither ``substitutions`` nor this deploy fill in:
    a ``${StateMachine_<child>}`` of a machine in ``result`` is filled with the child's ARN."""
    given = {key_of(k) for k in substitutions} | set(DEPLOY_DEFAULTS)
    return tuple(sorted(k for k in (key_of(p) for p in result.placeholders)
                        if k not in given and child_of(k) not in result.definitions))


def check_substitutions(result: CompileResult, substitutions: Mapping[str, str]) -> None:
    """Raise :class:`SubstitutionError` naming every placeholder left without a value, what it
    stands for, and the substitutions-file entries that would fill them.

    >>> from orchestrator import model
    >>> from orchestrator.compiler import compile_workflow
    >>> wf = model.Workflow(name="hello", tasks=(
    ...     model.Task(name="say-hi", job=model.BatchJob(image="alpine:3", command=("echo", "hi"))),))
    >>> check_substitutions(compile_workflow(wf), {"JobQueue_default": "arn:q"})
    Traceback (most recent call last):
    ...
    orchestrator.aws.errors.SubstitutionError: Cannot deploy 'hello': 1 placeholder has no value:
      ${JobDefinition_say-hi}: the ARN of the Batch job definition of task 'say-hi'
    fix: add it to the substitutions file (--substitutions FILE: a JSON object, keys without ${}), e.g.
      {"JobDefinition_say-hi": "arn:aws:batch:REGION:ACCOUNT:job-definition/NAME:REVISION"}
    """
    missing = missing_substitutions(result, substitutions)
    if not missing:
        return
    count = len(missing)
    lines = [f"Cannot deploy '{result.main}': {count} placeholder{'s have' if count != 1 else ' has'} no value:"]
    lines += [f"  ${{{k}}}: {_what(k)[0]}" for k in missing]
    lines.append(f"fix: add {'them' if count != 1 else 'it'} to the substitutions file "
                 "(--substitutions FILE: a JSON object, keys without ${}), e.g.")
    example = {k: _what(k)[1] for k in missing}
    if count == 1:
        lines.append("  " + json.dumps(example))
    else:
        lines += ["  " + line for line in json.dumps(example, indent=2).splitlines()]
    raise SubstitutionError("\n".join(lines), missing)


def load_substitutions(path: str | Path) -> dict[str, str]:
    """A substitutions file: a JSON (or YAML) object of placeholder name → string value."""
    import yaml

    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise SubstitutionError(f"{path}: cannot read the substitutions file: {exc.strerror}", ()) from None
    try:
        data = json.loads(text) if source.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SubstitutionError(f"{path}: not valid {'JSON' if source.suffix == '.json' else 'YAML'}: {exc}",
                                ()) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise SubstitutionError(
            f"{path}: must be an object of placeholder names to strings, e.g. "
            '{"JobQueue_default": "arn:aws:batch:REGION:ACCOUNT:job-queue/NAME"}', ())
    return {str(k): v for k, v in data.items()}


# -- order ---------------------------------------------------------------------------------------


def deploy_order(result: CompileResult) -> list[str]:
    """Machine names with every child before the machines that start it (then by name, so the
    order is the same on every run).

    >>> from orchestrator.compiler import CompileResult, Report
    >>> defs = {"p": {"A": "${StateMachine_p-part-1}"}, "p-part-1": {"B": "${StateMachine_p-part-2}"},
    ...         "p-part-2": {}}
    >>> deploy_order(CompileResult(main="p", definitions=defs, report=None, placeholders=set(), texts={}))
    ['p-part-2', 'p-part-1', 'p']
    """
    calls: dict[str, set[str]] = {}
    for name, definition in result.definitions.items():
        text = json.dumps(definition)
        calls[name] = {c for c in map(child_of, placeholders_in(text)) if c in result.definitions}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(calls):
        ready = sorted(n for n in calls if n not in done and calls[n] <= done)
        if not ready:  # the compiler only nests children in a tree
            raise AssertionError(f"state machines start each other in a cycle: {sorted(set(calls) - done)}")
        order += ready
        done.update(ready)
    return order


# -- AWS -----------------------------------------------------------------------------------------


def content_hash(text: str, role_arn: str, tags: Mapping[str, str]) -> str:
    """SHA-256 of everything a deploy writes, so a change to any of it is an update."""
    digest = hashlib.sha256()
    digest.update(text.encode())
    digest.update(b"\0" + role_arn.encode())
    for key in sorted(tags):
        digest.update(b"\0" + key.encode() + b"=" + tags[key].encode())
    return digest.hexdigest()


def _existing(client: Any) -> dict[str, str]:
    """Name → ARN of every state machine in the account and region."""
    found: dict[str, str] = {}
    with aws_call("ListStateMachines", "the account's state machines"):
        for page in client.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                found[machine["name"]] = machine["stateMachineArn"]
    return found


def _validation_client(client: Any) -> Any:
    """``client`` without retries: an endpoint that lacks ValidateStateMachineDefinition answers
    500, which botocore would otherwise retry with backoff before anything is deployed."""
    meta = getattr(client, "meta", None)
    if meta is None or not hasattr(meta, "config"):  # not a botocore client (a stand-in): as it is
        return client
    from botocore.config import Config

    config = client.meta.config.merge(Config(retries={"total_max_attempts": 1}))
    boto3 = boto3_module()
    return boto3.client("stepfunctions", region_name=client.meta.region_name,
                        endpoint_url=client.meta.endpoint_url, config=config)


def _validate_locally(name: str, text: str) -> None:
    from orchestrator.engine.validate import validate_definition

    try:
        validate_definition(json.loads(text))
    except DefinitionError as error:
        raise DefinitionError([Problem(where=f"state machine '{name}' {p.where}", message=p.message, fix=p.fix)
                               for p in error.problems]) from None


def _validate(client: Any, name: str, text: str, notice: Callable[[str], None]) -> bool:
    """ValidateStateMachineDefinition: it reports every problem of a definition at once, where
    CreateStateMachine stops at the first. An endpoint without the operation (moto, older
    emulators), or an identity not allowed this newer action, gets the package's own validator
    instead, with ``notice`` saying so; True when that happened."""
    try:
        with aws_call("ValidateStateMachineDefinition", f"state machine '{name}'"):
            answer = client.validate_state_machine_definition(definition=text, type="STANDARD")
    except (NotImplementedError, AwsError) as error:
        denied = isinstance(error, AwsError) and error.code in ("AccessDeniedException", "AccessDenied")
        if not (denied or unimplemented(error)):
            raise
        where = endpoint_override() or "AWS"
        reason = "this identity may not call" if denied else f"{where} does not implement"
        notice(f"notice: {reason} ValidateStateMachineDefinition; validated with the local validator instead")
        _validate_locally(name, text)
        return True
    if answer.get("result") != "FAIL":
        return False
    problems = [
        Problem(where=f"state machine '{name}'" + (f" at {d['location']}" if d.get("location") else ""),
                message=f"{d.get('code', 'ERROR')}: {d.get('message', '')}")
        for d in answer.get("diagnostics", ()) if d.get("severity", "ERROR") == "ERROR"
    ] or [Problem(where=f"state machine '{name}'", message="rejected by ValidateStateMachineDefinition")]
    raise DefinitionError(problems)


def _move_alias(client: Any, name: str, arn: str, version: str | None,
                notice: Callable[[str], None]) -> str | None:
    """Point alias ``live`` of machine ``arn`` at ``version`` (creating the alias on first deploy);
    its ARN. ``version`` None (the endpoint published none) leaves the alias alone."""
    if version is None:
        notice(f"notice: {endpoint_override() or 'the endpoint'} published no version of '{name}'; "
               f"alias '{ALIAS}' not moved")
        return None
    routing = [{"stateMachineVersionArn": version, "weight": 100}]
    try:
        with aws_call("ListStateMachineAliases", f"state machine '{name}' ({arn})"):
            aliases = client.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
        current = next((a["stateMachineAliasArn"] for a in aliases
                        if a["stateMachineAliasArn"].rsplit(":", 1)[-1] == ALIAS), None)
        if current is None:
            with aws_call("CreateStateMachineAlias", f"state machine '{name}' ({arn})"):
                return str(client.create_state_machine_alias(
                    name=ALIAS, routingConfiguration=routing,
                    description="the version orchestrator deploy published last")["stateMachineAliasArn"])
        with aws_call("UpdateStateMachineAlias", f"alias {current}"):
            client.update_state_machine_alias(stateMachineAliasArn=current, routingConfiguration=routing)
        return str(current)
    except (NotImplementedError, AwsError) as error:
        if not unimplemented(error):
            raise
        notice(f"notice: {endpoint_override() or 'the endpoint'} has no state machine aliases; "
               f"alias '{ALIAS}' not moved")
        return None


def _notice(text: str) -> None:
    print(text, file=sys.stderr)


def _once(notice: Callable[[str], None]) -> Callable[[str], None]:
    """``notice`` that passes on each distinct text once."""
    seen: set[str] = set()

    def once(text: str) -> None:
        if text not in seen:
            seen.add(text)
            notice(text)

    return once


def deploy(
    result: CompileResult,
    *,
    role_arn: str,
    substitutions: Mapping[str, str],
    client: Any = None,
    tags: Mapping[str, str] | None = None,
    region: str | None = None,
    on_deployed: Callable[[Deployed], None] | None = None,
    notice: Callable[[str], None] = _notice,
) -> list[Deployed]:
    """Deploy every machine of ``result`` (children first); what happened to each, in order.

    Nothing is written unless every placeholder has a value and every definition validates. Each
    create or update publishes a version, and alias ``live`` moves to it only once that
    succeeded: a failed update leaves ``live`` on the version that worked. ``notice`` gets the
    one-line notes about what the endpoint could not do (printed to stderr by default).
    """
    check_substitutions(result, substitutions)
    sfn = client if client is not None else make_client("stepfunctions", region)
    user_tags = dict(tags or {})
    values = {**DEPLOY_DEFAULTS, **{key_of(k): v for k, v in substitutions.items()}}
    order = deploy_order(result)
    # Validate everything before the first write. A child's ARN is not known yet, but it only
    # appears in a Task's Parameters, which validation treats as a plain string.
    checker = _validation_client(sfn)
    notice = _once(notice)  # one notice per deploy, not one per machine
    for name in order:
        _validate(checker, name, compact(substitute(result.definitions[name], values)), notice)
    existing = _existing(sfn)
    done: list[Deployed] = []
    for name in order:
        # Sent compact, as the quotas were counted (compiler.quotas.deployed_bytes).
        text = compact(substitute(result.definitions[name], values))
        digest = content_hash(text, role_arn, user_tags)
        all_tags = [{"key": k, "value": v} for k, v in sorted({**user_tags, HASH_TAG: digest}.items())]
        arn = existing.get(name)
        action: Action
        version: str | None = None
        if arn is None:
            with aws_call("CreateStateMachine", f"state machine '{name}'"):
                created = sfn.create_state_machine(name=name, definition=text, roleArn=role_arn,
                                                   type="STANDARD", tags=all_tags, publish=True,
                                                   versionDescription=digest[:VERSION_DESCRIPTION_MAX])
            arn, version = str(created["stateMachineArn"]), created.get("stateMachineVersionArn")
            action = "created"
        else:
            with aws_call("ListTagsForResource", f"state machine '{name}' ({arn})"):
                current = {t["key"]: t["value"] for t in sfn.list_tags_for_resource(resourceArn=arn)["tags"]}
            if current.get(HASH_TAG) == digest:
                action = "unchanged"
            else:
                with aws_call("UpdateStateMachine", f"state machine '{name}' ({arn})"):
                    updated = sfn.update_state_machine(stateMachineArn=arn, definition=text, roleArn=role_arn,
                                                       publish=True,
                                                       versionDescription=digest[:VERSION_DESCRIPTION_MAX])
                version = updated.get("stateMachineVersionArn")
                # Tagged after the update: if the update fails the old hash stays, so the next
                # deploy tries again.
                with aws_call("TagResource", f"state machine '{name}' ({arn})"):
                    sfn.tag_resource(resourceArn=arn, tags=all_tags)
                action = "updated"
        alias = _move_alias(sfn, name, arn, version, notice) if action != "unchanged" else None
        values[key_of(placeholder(STATE_MACHINE, name))] = arn
        deployed = Deployed(name=name, arn=arn, action=action, version_arn=version, alias_arn=alias)
        done.append(deployed)
        if on_deployed is not None:
            on_deployed(deployed)
    return done


def deploy_state_machines(
    result: CompileResult,
    *,
    role_arn: str,
    substitutions: Mapping[str, str],
    client: Any = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create or update every machine of ``result``; name → ARN, children first.

    ``substitutions`` maps placeholder names (``JobQueue_default`` or ``${JobQueue_default}``) to
    values; ``${StateMachine_<child>}`` is filled in here. ``client`` is a Step Functions client
    (default: one for the configured region).

        arns = deploy_state_machines(compile_workflow(wf), role_arn="arn:aws:iam::123456789012:role/sfn",
                                     substitutions={"JobQueue_default": queue_arn, ...})
    """
    deployed = deploy(result, role_arn=role_arn, substitutions=substitutions, client=client, tags=tags)
    return {d.name: d.arn for d in deployed}
