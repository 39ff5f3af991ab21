"""Plain ASL, as Step Functions Local users hold it: a ``*.asl.json`` file and a MockConfigFile.

Three ways in, one engine:

- ``execute(definition, input, mock_config=..., test_case=...)``: the bare engine (contract 3 of
  DESIGN.md) with a test case in front of it; nothing is stored. For tests.
- ``run_definition(path_or_definition, input, mock_config=..., test_case=...)``: what
  ``orchestrator run machine.asl.json`` does; the definition becomes a plan (``runs.plain_plan``)
  run by ``runs.run_plan`` with the local services, persisted like a workflow run, so
  ``orchestrator executions list|show|history`` and ``redrive`` see it.
- ``start_definition(store, name, definition, input, execution_name=..., mock_config=...,
  test_case=...)``: the same in the background (``orchestrator serve``'s StartExecution); it
  returns a ``runs.BackgroundRun`` as soon as the execution is stored. Each call gets a fresh test
  case (invocations are counted per execution). What a run needs travels with it: the plan keeps
  ``aws_endpoint`` (a redrive forwards again) and every ``LocalRun`` reads ``WAIT_TIME_SCALE``.

A state the test case names is answered by its mock whatever its resource (see ``mocks``).

    >>> definition = {"StartAt": "Send", "States": {"Send": {
    ...     "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True,
    ...     "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody": "hi"}}}}
    >>> config = {"StateMachines": {"Sender": {"TestCases": {"HappyPath": {"Send": "Sent"}}}},
    ...           "MockedResponses": {"Sent": {"0": {"Return": {"MessageId": "m-1"}}}}}
    >>> run = execute(definition, {}, mock_config=config, test_case="HappyPath")
    >>> run.status, run.output
    ('SUCCEEDED', {'MessageId': 'm-1'})
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator import arns, limits
from orchestrator.engine import ExecutionResult, validate_definition
from orchestrator.engine import execute as engine_execute
from orchestrator.engine.integrations import Integration
from orchestrator.errors import OrchestratorError
from orchestrator.local.batch import Capacity
from orchestrator.local.environment import wait_time_scale as wait_time_scale_setting
from orchestrator.local.mocks import MockConfig
from orchestrator.local.progress import task_states
from orchestrator.local.runs import (
    BackgroundRun,
    RunResult,
    local_definition,
    plain_plan,
    run_plan,
    select_test_case,
    start_plan,
)
from orchestrator.local.store import Store

DEFAULT_STATE_MACHINE = "LocalStateMachine"
MockConfigLike = MockConfig | Mapping[str, Any] | str | os.PathLike[str]


class DefinitionFileError(OrchestratorError):
    """A file given as a state machine definition cannot be read as ASL."""


def is_definition(document: Any) -> bool:
    """Whether a parsed JSON document is an ASL state machine (not a workflow spec).

    >>> is_definition({"StartAt": "A", "States": {}}), is_definition({"name": "wf", "tasks": []})
    (True, False)
    """
    return isinstance(document, dict) and "StartAt" in document and isinstance(document.get("States"), dict)


def definition_file(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The ASL definition in ``path``, or None when it is not a JSON state machine (e.g. a spec).

    Only a ``*.asl.json`` file is reported here when unreadable; any other ``.json`` file that is
    not ASL is left to the workflow spec loader, whose errors point at line and column.
    """
    name = str(path)
    if not name.endswith(".json"):
        return None
    asl = name.endswith(".asl.json")
    try:
        file = Path(path)
        if file.stat().st_size > limits.SPEC_MAX_BYTES:
            if not asl:
                return None  # the spec loader says how large it is and where the limit is
            raise DefinitionFileError(f"{path}: larger than {limits.SPEC_MAX_BYTES // 2**20} MiB; a state machine "
                                      f"definition is at most {limits.MAX_DEFINITION_BYTES:,} bytes")
        document = json.loads(file.read_text(encoding="utf-8"))
    except RecursionError:
        if not asl:
            return None
        raise DefinitionFileError(f"{path}: nests too deeply to read; flatten the definition") from None
    except OSError as exc:
        if not asl:
            return None
        raise DefinitionFileError(f"{path}: cannot read the state machine definition: {exc.strerror}") from None
    except ValueError as exc:
        if not asl:
            return None
        raise DefinitionFileError(f"{path}: not valid JSON: {exc}") from None
    return document if is_definition(document) else None


def check_definition_file(path: str | os.PathLike[str]) -> str | None:
    """Validate a plain ASL file as ValidateStateMachineDefinition would; None if ``path`` is no ASL.

    Returns a one-line summary; every problem is raised together as a ``DefinitionError``.
    """
    document = definition_file(path)
    if document is None:
        return None
    validate_definition(document)
    tasks = sum(1 for _ in task_states(document))
    return f"state machine '{machine_name(path)}' ({len(document['States'])} states, {tasks} Task states)"


def machine_name(path: str | os.PathLike[str]) -> str:
    """The state machine name a definition file stands for: its name without ``.asl.json``.

    >>> machine_name("machines/OrderFlow.asl.json")
    'OrderFlow'
    """
    name = Path(path).name
    for suffix in (".asl.json", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _config(mock_config: MockConfigLike | None) -> MockConfig | str | os.PathLike[str] | None:
    if isinstance(mock_config, Mapping):
        return MockConfig.from_dict(dict(mock_config))
    return mock_config


def execute(definition: Mapping[str, Any] | str, input: Any = None, *, virtual_time: bool = False,
            mock_config: MockConfigLike | None = None, test_case: str | None = None,
            state_machine: str | None = None, wait_time_scale: float | None = None,
            integrations: Mapping[str, Integration] | None = None, aws_endpoint: str | None = None,
            execution_name: str | None = None,
            state_machine_arn: str | None = None, start_time: datetime | None = None,
            role_arn: str | None = None, express: bool = False) -> ExecutionResult:
    """Run ``definition`` on the engine alone; with a test case, its mocks answer their states.

    ``mock_config`` is a MockConfigFile path, its parsed dict, or a ``MockConfig``; the test case
    is looked up under ``state_machine`` (default: the name in ``state_machine_arn``), or under the
    only machine defining it. ``wait_time_scale`` defaults to ``WAIT_TIME_SCALE`` (else 1).
    Unmocked Task states go to ``integrations`` (with ``aws_endpoint``, the ``aws-sdk:*``, sqs,
    sns, events and dynamodb calls none of them takes go there), and fail as AWS does without
    permissions when none answers.
    """
    machine = json.loads(definition) if isinstance(definition, str) else dict(definition)
    name = state_machine or (state_machine_arn.rsplit(":", 1)[-1] if state_machine_arn else DEFAULT_STATE_MACHINE)
    case = select_test_case(_config(mock_config), test_case, plain_plan(name, machine, cwd="."))
    services = dict(integrations or {})
    if aws_endpoint is not None:
        from orchestrator.local.forward import OPTIMISED, Forwarder  # botocore only when asked for

        forward = Forwarder(aws_endpoint, region=arns.REGION)
        for key in ("*", *OPTIMISED):
            services.setdefault(key, forward)
    scale = wait_time_scale_setting() if wait_time_scale is None else wait_time_scale
    return engine_execute(machine, input, virtual_time=virtual_time,
                          integrations=case.integrations(services) if case is not None else services,
                          execution_name=execution_name, state_machine_arn=state_machine_arn,
                          start_time=start_time, role_arn=role_arn, express=express, wait_time_scale=scale)


def run_definition(definition: str | os.PathLike[str] | Mapping[str, Any], input: Any = None, *,
                   name: str | None = None, home: str | os.PathLike[str] | None = None,
                   mock_config: MockConfigLike | None = None, test_case: str | None = None,
                   aws_endpoint: str | None = None, progress: bool = False, virtual_time: bool = False,
                   notice: Callable[[str], None] | None = None) -> RunResult:
    """Run a plain ASL state machine here with the local services, stored like a workflow run.

    ``definition`` is a ``*.asl.json`` path (the machine is named after the file) or a mapping
    (named ``name``, default ``LocalStateMachine``); the test case is looked up under that name.
    ``aws_endpoint`` takes the unmocked ``aws-sdk:*``, sqs, sns, events and dynamodb calls.
    """
    if isinstance(definition, Mapping):
        machine, document = name or DEFAULT_STATE_MACHINE, dict(definition)
    else:
        loaded = definition_file(definition)
        if loaded is None:
            raise DefinitionFileError(
                f"{definition}: not an ASL state machine definition (a JSON object with \"StartAt\" and "
                '"States"), e.g. {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": true}}}.')
        machine, document = name or machine_name(definition), loaded
    # Checked before anything is stored, so a bad definition leaves no execution behind.
    validate_definition(document)
    # A compiled file's ${Placeholder} ARNs become local ones, as for a workflow run.
    plan = plain_plan(machine, local_definition(document, machine), aws_endpoint=aws_endpoint)
    mock = select_test_case(_config(mock_config), test_case, plan)
    execution = f"{machine}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return run_plan(plan, input, home=home, name=execution, mock=mock, progress=progress,
                    virtual_time=virtual_time, notice=notice)


def start_definition(store: Store, name: str, definition: Mapping[str, Any], input: Any = None, *,
                     execution_name: str, mock_config: MockConfigLike | None = None,
                     test_case: str | None = None, aws_endpoint: str | None = None,
                     capacity: Capacity | None = None, virtual_time: bool = False,
                     notice: Callable[[str], None] | None = None,
                     on_end: Callable[[BackgroundRun], None] | None = None) -> BackgroundRun:
    """Start the plain state machine ``name`` in the background, its test case (if any) mocking.

    The definition is run as given (an API-created machine is not substituted); the test case is
    looked up under ``name`` and checked against the machine's Task states before anything is
    stored. ``capacity`` is the local Batch capacity shared with the process's other runs.

        >>> import tempfile
        >>> handle = start_definition(Store(tempfile.mkdtemp()), "Sender", {"StartAt": "Send", "States": {
        ...     "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}}},
        ...     {}, execution_name="first", test_case="HappyPath", mock_config={
        ...     "StateMachines": {"Sender": {"TestCases": {"HappyPath": {"Send": "Sent"}}}},
        ...     "MockedResponses": {"Sent": {"0": {"Return": {"MessageId": "m-1"}}}}})
        >>> handle.wait(10).output
        {'MessageId': 'm-1'}
    """
    validate_definition(dict(definition))
    plan = plain_plan(name, definition, aws_endpoint=aws_endpoint)
    mock = select_test_case(_config(mock_config), test_case, plan)
    return start_plan(store, plan, input, name=execution_name, mock=mock, capacity=capacity,
                      virtual_time=virtual_time, notice=notice, on_end=on_end)
