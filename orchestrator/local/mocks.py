"""Step Functions Local's MockConfigFile, so existing mocked test suites move over unchanged.

The format (AWS's "Using mocked service integrations" for Step Functions Local)::

    {"StateMachines": {"<state machine>": {"TestCases": {"<case>": {"<state>": "<response name>"}}}},
     "MockedResponses": {"<response name>": {"0": {"Return": {...}},
                                             "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}

Response keys are the state's invocations in this execution, counted from 0 (retries count), as
single numbers or ranges; past the last key the last response repeats. A state the test case
does not name runs on the local services as usual.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.engine.integrations import TaskFailure
from orchestrator.errors import OrchestratorError


class MockConfigError(OrchestratorError):
    """The mock config file is unreadable or does not have the test case asked for."""


def _ranges(key: str, where: str) -> tuple[int, int]:
    text = key.strip()
    try:
        if "-" in text:
            low_text, high_text = text.split("-", 1)
            low, high = int(low_text), int(high_text)
        else:
            low = high = int(text)
        if 0 <= low <= high:
            return low, high
    except ValueError:
        pass
    raise MockConfigError(
            f"{where}: response key {key!r} is not an invocation number or range; use \"0\" or \"1-2\".")


def _response(value: Any, where: str) -> Mapping[str, Any]:
    """One mocked response: exactly one of ``Return`` (any JSON) or ``Throw`` ({Error, Cause})."""
    kinds = [k for k in ("Return", "Throw") if isinstance(value, dict) and k in value]
    if not isinstance(value, dict) or len(kinds) != 1 or set(value) - {"Return", "Throw"}:
        raise MockConfigError(f"{where}: a response has exactly one of \"Return\" or \"Throw\", "
                              f"got {json.dumps(value)[:80]}.")
    throw = value.get("Throw")
    if kinds == ["Throw"] and not (isinstance(throw, dict) and isinstance(throw.get("Error"), str)
                                   and isinstance(throw.get("Cause", ""), str)):
        raise MockConfigError(f"{where}: \"Throw\" needs a string \"Error\" (and optionally a string "
                              "\"Cause\"), e.g. {\"Throw\": {\"Error\": \"States.TaskFailed\", \"Cause\": \"...\"}}.")
    return value


@dataclass(slots=True)
class MockCase:
    """One test case: state name → its per-invocation responses."""

    name: str
    states: dict[str, list[tuple[int, int, Mapping[str, Any]]]]
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def mocks(self, state: str) -> bool:
        return state in self.states

    def respond(self, state: str) -> Any:
        """The next response for ``state``: its Return value, or ``TaskFailure`` for a Throw."""
        with self._lock:
            n = self._counts.get(state, 0)
            self._counts[state] = n + 1
        responses = self.states[state]
        chosen = responses[-1][2]
        for low, high, response in responses:
            if low <= n <= high:
                chosen = response
                break
        if "Throw" in chosen:
            throw = chosen["Throw"]
            raise TaskFailure(str(throw["Error"]), throw.get("Cause"))
        return chosen.get("Return")


@dataclass(frozen=True, slots=True)
class MockConfig:
    state_machines: Mapping[str, Mapping[str, Mapping[str, str]]]
    responses: Mapping[str, Mapping[str, Any]]
    source: str = "<mock config>"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MockConfig:
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise MockConfigError(f"{path}: cannot read the mock config: {exc.strerror}") from None
        except ValueError as exc:
            raise MockConfigError(f"{path}: not valid JSON: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<mock config>") -> MockConfig:
        if not isinstance(data, dict) or not isinstance(data.get("StateMachines"), dict):
            raise MockConfigError(f"{source}: expected an object with \"StateMachines\" and \"MockedResponses\".")
        machines = {name: dict((sm or {}).get("TestCases") or {}) for name, sm in data["StateMachines"].items()}
        return cls(machines, dict(data.get("MockedResponses") or {}), source)

    def case(self, state_machine: str, test_case: str) -> MockCase:
        """The test case for ``state_machine``; one defined under a single other name also matches."""
        cases = self.state_machines.get(state_machine)
        if cases is None or test_case not in cases:
            owners = [name for name, c in self.state_machines.items() if test_case in c]
            if len(owners) == 1 and cases is None:
                cases = self.state_machines[owners[0]]
            else:
                known = ", ".join(f"{sm}/{tc}" for sm, c in self.state_machines.items() for tc in c) or "none"
                raise MockConfigError(
                    f"{self.source}: no test case {test_case!r} for state machine {state_machine!r} "
                    f"(defined: {known}).")
        states: dict[str, list[tuple[int, int, Mapping[str, Any]]]] = {}
        for state, response_name in cases[test_case].items():
            response = self.responses.get(response_name)
            if response is None:
                raise MockConfigError(
                    f"{self.source}: test case {test_case!r} maps state {state!r} to {response_name!r}, "
                    "which is not in MockedResponses.")
            where = f"{self.source}: MockedResponses.{response_name}"
            if not isinstance(response, dict) or not response:
                raise MockConfigError(f"{where}: expected an object of responses keyed by invocation, e.g. "
                                      '{"0": {"Return": {...}}, "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}.')
            entries = sorted(((*_ranges(k, where), _response(v, f"{where}.{k}")) for k, v in response.items()),
                             key=lambda e: (e[0], e[1]))
            for (_, high, _), (low, _, _) in zip(entries, entries[1:], strict=False):
                if low <= high:
                    raise MockConfigError(f"{where}: invocation {low} has more than one response; ranges must not overlap.")
            states[state] = entries
        return MockCase(test_case, states)
