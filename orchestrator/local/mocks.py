"""Step Functions Local's MockConfigFile, so existing mocked test suites move over unchanged.

The format (AWS's "Using mocked service integrations" for Step Functions Local)::

    {"StateMachines": {"<state machine>": {"TestCases": {"<case>": {"<state>": "<response name>"}}}},
     "MockedResponses": {"<response name>": {"0": {"Return": {...}},
                                             "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}

A state the test case names is answered by its mock whatever its ``Resource``: optimised
integrations (``lambda:invoke``, ``sqs:sendMessage``, ``dynamodb:putItem``, ``events:putEvents``,
``batch:submitJob`` ...), every ``aws-sdk:<service>:<action>``, a Lambda function ARN, an activity,
and the ``.sync`` and ``.waitForTaskToken`` patterns; it is never sent to a service. As in Step
Functions Local:

- Response keys count the state's invocations in this execution from 0, retries, loop passes and
  Map iterations included (one counter per state), as single numbers or inclusive ranges.
- An invocation no key covers (past the last one, or in a gap) fails the execution with
  ``States.Runtime``, which no Retry or Catch handles: "you must specify a mocked response for
  every invocation".
- ``Return`` is the service's answer (any JSON value); ``Throw`` fails the attempt with its
  ``Error`` and ``Cause``, which Retry and Catch see as from the real service.
- ``.sync``: the Return is reported as the submission (``TaskSubmitted``) and as the result.
- ``.waitForTaskToken``: the task token is generated and answered at once with the Return (as
  ``SendTaskSuccess``) or the Throw (as ``SendTaskFailure``); the request itself is submitted
  with an empty answer, so the history reads TaskScheduled, TaskStarted, TaskSubmitted, then
  TaskSucceeded or TaskFailed.
- A Lambda function ARN as Resource: the Return is Invoke's response, and its ``Payload`` is the
  state's result, as for a real invoke.

Step Functions Local refuses to mock an activity ("Activity state cannot be mocked"); here an
activity is answered like any other Task (``ActivitySucceeded`` / ``ActivityFailed``), since no
suite written for Step Functions Local can rely on that refusal.

    >>> config = MockConfig.from_dict({
    ...     "StateMachines": {"wf": {"TestCases": {"ok": {"Load": "done"}}}},
    ...     "MockedResponses": {"done": {"0": {"Return": {"JobId": "1", "Status": "SUCCEEDED"}}}}})
    >>> config.case("wf", "ok").respond("Load")
    {'JobId': '1', 'Status': 'SUCCEEDED'}
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orchestrator.arns import IntegrationPattern
from orchestrator.engine.errors import StatesError
from orchestrator.engine.integrations import (
    Integration,
    TaskCall,
    TaskFailure,
    unconfigured,
)
from orchestrator.engine.interpreter import send_task_failure, send_task_success
from orchestrator.errors import OrchestratorError

# A call answered by a mock: (state name, the Task attempt from 1, "SUCCEEDED" | "FAILED").
AnswerListener = Callable[[str, int, str], None]

_EXAMPLE = ('{"0": {"Return": {"StatusCode": 200}}, '
            '"1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}}}')


class MockConfigError(OrchestratorError):
    """The mock config file is unreadable, malformed, or lacks the test case asked for."""


@dataclass(frozen=True, slots=True)
class ResponseEntry:
    """One entry of a named mocked response: invocations ``low..high`` return ``value`` or throw."""

    low: int
    high: int
    value: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def throws(self) -> bool:
        return self.error is not None


def _range(key: str, where: str) -> tuple[int, int]:
    text = key.strip()
    low_text, dash, high_text = text.partition("-")
    if low_text.isdigit() and (not dash or high_text.isdigit()):
        low = int(low_text)
        high = int(high_text) if dash else low
        if low <= high:
            return low, high
    raise MockConfigError(
        f"{where}: response key {key!r} is not an invocation number or range; "
        'use "0" for the first invocation or "1-2" for the second and third.')


def _entry(key: str, value: Any, where: str) -> ResponseEntry:
    """``{"Return": <any JSON>}`` or ``{"Throw": {"Error": str, "Cause": str}}``."""
    low, high = _range(key, where)
    here = f"{where}.{key}"
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("Return", "Throw"):
        raise MockConfigError(f'{here}: a response has exactly one field, "Return" or "Throw", '
                              f"got {json.dumps(value)[:80]}; e.g. {_EXAMPLE}.")
    if "Return" in value:
        return ResponseEntry(low, high, value["Return"])
    throw = value["Throw"]
    if not (isinstance(throw, dict) and isinstance(throw.get("Error"), str)
            and isinstance(throw.get("Cause", ""), str) and set(throw) <= {"Error", "Cause"}):
        raise MockConfigError(f'{here}: "Throw" takes a string "Error" and a string "Cause", e.g. '
                              '{"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}}.')
    return ResponseEntry(low, high, error=throw["Error"], cause=throw.get("Cause"))


def _entries(name: str, table: Any, source: str) -> tuple[ResponseEntry, ...]:
    where = f"{source}: MockedResponses.{name}"
    if not isinstance(table, dict):
        raise MockConfigError(f"{where}: expected an object of responses keyed by invocation, e.g. {_EXAMPLE}.")
    entries = sorted((_entry(k, v, where) for k, v in table.items()), key=lambda e: (e.low, e.high))
    for before, after in zip(entries, entries[1:], strict=False):
        if after.low <= before.high:
            raise MockConfigError(f"{where}: invocation {after.low} has more than one response; "
                                  "ranges must not overlap.")
    return tuple(entries)


class Mocks(Protocol):
    """What answers mocked states in front of the local services: a MockConfigFile's test case
    (:class:`MockCase`), or mocks written in Python (``orchestrator.testing``)."""

    def mocks(self, state: str) -> bool: ...

    def answer(self, call: TaskCall) -> Any: ...


@dataclass(slots=True)
class MockCase:
    """One test case of one execution: state name → (response name, its entries).

    It counts invocations, so each execution gets its own (``MockConfig.case``).
    """

    name: str
    state_machine: str
    source: str
    states: Mapping[str, tuple[str, tuple[ResponseEntry, ...]]]
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mocks(self, state: str) -> bool:
        return state in self.states

    def respond(self, state: str) -> Any:
        """The next response for ``state``: its Return value, or ``TaskFailure`` for a Throw.

        An invocation no key covers raises ``States.Runtime``, as Step Functions Local fails it.
        """
        with self._lock:
            n = self._counts.get(state, 0)
            self._counts[state] = n + 1
        response_name, entries = self.states[state]
        for entry in entries:
            if entry.low <= n <= entry.high:
                if entry.throws:
                    raise TaskFailure(str(entry.error), entry.cause)
                return entry.value
        covered = ", ".join(f'"{e.low}"' if e.low == e.high else f'"{e.low}-{e.high}"' for e in entries) or "none"
        raise StatesError(
            "States.Runtime",
            f"State '{state}' was invoked {n + 1} time(s), but the mocked response '{response_name}' of test "
            f"case '{self.name}' has no response for invocation {n} (keys: {covered}). Add a key covering "
            f'"{n}" to MockedResponses.{response_name} in {self.source}.')

    def answer(self, call: TaskCall) -> Any:
        """Answer one Task attempt from the mock, the way its integration pattern reports results."""
        if call.pattern is IntegrationPattern.WAIT_FOR_TASK_TOKEN and call.task_token is not None:
            # The token is answered before the request "returns", so the task never waits.
            try:
                value = self.respond(call.state_name)
            except TaskFailure as failure:
                send_task_failure(call.task_token, failure.error, failure.cause)
            else:
                send_task_success(call.task_token, value)
            return {}
        value = self.respond(call.state_name)
        if call.pattern is IntegrationPattern.SYNC and call.submitted is not None:
            call.submitted(value)
        return value

    def integrations(self, services: Mapping[str, Integration] | None = None, *,
                     on_answer: AnswerListener | None = None) -> dict[str, Integration]:
        """``services`` with this case in front: mocked states are answered here, the rest go on.

        ``"*"`` and ``"activity"`` entries are always present, so a mocked state whose service has
        no integration is still answered; an unmocked call that nothing serves fails as with no
        integration at all.

        >>> from orchestrator.engine import execute
        >>> case = MockConfig.from_dict({
        ...     "StateMachines": {"m": {"TestCases": {"t": {"Send": "sent"}}}},
        ...     "MockedResponses": {"sent": {"0": {"Return": {"MessageId": "1"}}}}}).case("m", "t")
        >>> execute({"StartAt": "Send", "States": {"Send": {"Type": "Task", "End": True,
        ...          "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"QueueUrl": "q"}}}},
        ...         integrations=case.integrations()).output
        {'MessageId': '1'}
        """
        def wrap(service: Integration | None) -> Integration:
            def integration(call: TaskCall) -> Any:
                if not self.mocks(call.state_name):
                    if service is None:
                        raise unconfigured(call)
                    return service(call)
                try:
                    result = self.answer(call)
                except (TaskFailure, StatesError):
                    if on_answer is not None:
                        on_answer(call.state_name, call.attempt + 1, "FAILED")
                    raise
                if on_answer is not None:
                    on_answer(call.state_name, call.attempt + 1, "SUCCEEDED")
                return result
            return integration

        given = dict(services or {})
        wrapped = {key: wrap(service) for key, service in given.items()}
        wrapped["*"] = wrap(given.get("*"))
        # A mocked activity needs no worker; an unmocked one without a worker then fails after
        # ActivityScheduled rather than before it (the only trace a mock config leaves).
        wrapped["activity"] = wrap(given.get("activity"))
        return wrapped


@dataclass(frozen=True, slots=True)
class MockConfig:
    """A parsed MockConfigFile; ``case`` gives one execution its test case."""

    state_machines: Mapping[str, Mapping[str, Mapping[str, str]]]
    responses: Mapping[str, Any]
    source: str = "<mock config>"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MockConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise MockConfigError(f"{path}: cannot read the mock config: {exc.strerror}") from None
        except ValueError as exc:
            raise MockConfigError(f"{path}: not valid JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<mock config>") -> MockConfig:
        """Check the whole file's shape at once, so a typo is reported before anything runs."""
        shape = ('{"StateMachines": {"<machine>": {"TestCases": {"<case>": {"<state>": "<response>"}}}}, '
                 '"MockedResponses": {"<response>": ' + _EXAMPLE + "}}")
        if not isinstance(data, dict) or not isinstance(data.get("StateMachines"), dict):
            raise MockConfigError(f'{source}: expected an object with "StateMachines" and "MockedResponses": {shape}.')
        responses = data.get("MockedResponses", {})
        if not isinstance(responses, dict):
            raise MockConfigError(f'{source}: "MockedResponses" must be an object: {shape}.')
        machines: dict[str, dict[str, dict[str, str]]] = {}
        for machine, body in data["StateMachines"].items():
            cases = body.get("TestCases") if isinstance(body, dict) else None
            if not isinstance(cases, dict):
                raise MockConfigError(f'{source}: StateMachines.{machine} needs a "TestCases" object: {shape}.')
            for case_name, states in cases.items():
                if not isinstance(states, dict) or not all(isinstance(v, str) for v in states.values()):
                    raise MockConfigError(
                        f"{source}: StateMachines.{machine}.TestCases.{case_name} maps each state name to the "
                        'name of a mocked response, e.g. {"LambdaState": "MockedLambdaSuccess"}.')
            machines[machine] = {c: dict(s) for c, s in cases.items()}
        for name, table in responses.items():
            _entries(name, table, source)
        return cls(machines, dict(responses), source)

    def case(self, state_machine: str, test_case: str) -> MockCase:
        """A fresh test case for one execution of ``state_machine``.

        A test case defined under exactly one other state machine name also matches, so a file
        written for a deployed machine's name works against a local file name.
        """
        cases = self.state_machines.get(state_machine)
        owner = state_machine
        if cases is None or test_case not in cases:
            owners = [name for name, c in self.state_machines.items() if test_case in c]
            if cases is None and len(owners) == 1:
                owner = owners[0]
                cases = self.state_machines[owner]
            else:
                known = ", ".join(f"{sm}/{tc}" for sm, c in self.state_machines.items() for tc in c) or "none"
                raise MockConfigError(
                    f"{self.source}: no test case {test_case!r} for state machine {state_machine!r} "
                    f"(defined: {known}); add it under StateMachines.{state_machine}.TestCases.")
        states: dict[str, tuple[str, tuple[ResponseEntry, ...]]] = {}
        for state, response_name in cases[test_case].items():
            if response_name not in self.responses:
                known = ", ".join(sorted(self.responses)) or "none"
                raise MockConfigError(
                    f"{self.source}: test case {test_case!r} maps state {state!r} to {response_name!r}, which is "
                    f"not in MockedResponses (defined: {known}); add MockedResponses.{response_name}, "
                    f"e.g. {_EXAMPLE}.")
            states[state] = (response_name, _entries(response_name, self.responses[response_name], self.source))
        return MockCase(test_case, owner, self.source, states)


def load(mock_config: MockConfig | str | os.PathLike[str]) -> MockConfig:
    """A ``MockConfig`` from itself or a file path (``--mock-config``, ``SFN_MOCK_CONFIG``)."""
    return mock_config if isinstance(mock_config, MockConfig) else MockConfig.load(mock_config)
