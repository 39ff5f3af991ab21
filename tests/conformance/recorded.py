"""Loading and checking the AWS-recorded executions (``tests/conformance/aws-recorded``, vendored).

Shared by ``tests/conformance/test_aws_recorded.py`` and ``bench/conformance.py``. A case passes
when the engine's terminal status matches and, for SUCCEEDED, the output equals the recorded one
(canonical JSON, types compared: ``1`` is not ``1.0``), for FAILED the error and cause do. The
recording redacted some values (account ids, regions, ARN parts, dates); those are wildcards.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Vendored into the repository (Apache-2.0; origin and changes in aws-recorded/NOTICE.md).
CASES_PATH = Path(__file__).resolve().parent / "aws-recorded" / "cases.jsonl"

_PLACEHOLDER = re.compile(r"<[A-Za-z0-9_:\-.]+>")


def load_cases(path: Path = CASES_PATH) -> list[dict[str, Any]]:
    return list(_read_cases(path))


@functools.cache
def _read_cases(path: Path) -> tuple[dict[str, Any], ...]:
    # Read once: the test module and bench select pure, service-free and mocked cases from one file.
    # A missing corpus is a failure, not a skip: the README cites these figures.
    with path.open(encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


def pure_cases(path: Path = CASES_PATH) -> list[dict[str, Any]]:
    """The cases that call no AWS service (ABORTED ones are stopped once their first state runs)."""
    return [c for c in load_cases(path) if c.get("pure_asl")]


def short_id(case: Mapping[str, Any]) -> str:
    parts = case["id"].split("::")
    return "::".join(parts[1:]) if len(parts) > 1 else case["id"]


def recorded_start(case: Mapping[str, Any]) -> datetime | None:
    text = case.get("source", {}).get("recorded_date")
    try:
        return datetime.strptime(text, "%d-%m-%Y, %H:%M:%S").replace(tzinfo=UTC) if text else None
    except ValueError:
        return None


def _wildcard_regex(expected: str, replacements: list[str]) -> re.Pattern[str] | None:
    tokens: list[str] = [re.escape(r) for r in replacements if r and r in expected]
    if not (tokens or _PLACEHOLDER.search(expected) or "111111111111" in expected
            or re.search(r"\bdate\b", expected)):
        return None
    pattern = re.escape(expected)
    for tok in sorted(tokens, key=len, reverse=True):
        pattern = pattern.replace(tok, "\x00")
    pattern = re.sub(re.escape(re.escape("<")) + r"[A-Za-z0-9_:\\\-.]+?" + re.escape(re.escape(">")), "\x00",
                     pattern)
    pattern = pattern.replace("111111111111", r"\d{12}")
    pattern = re.sub(r"\bdate\b", "\x00", pattern)
    pattern = pattern.replace("\x00", ".*?")
    return re.compile(pattern, re.S)


def matches(actual: Any, expected: Any, replacements: list[str]) -> bool:
    """Canonical JSON equality with type-sensitive numbers and redaction wildcards."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return False
        return all(matches(actual[k], expected[k], replacements) for k in expected)
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(matches(a, e, replacements) for a, e in zip(actual, expected, strict=True)))
    if isinstance(expected, str):
        if actual == expected:
            return True
        rx = _wildcard_regex(expected, replacements)
        if rx is None:
            return False
        if isinstance(actual, str):
            return rx.fullmatch(actual) is not None
        # A redacted value may stand for any JSON value (e.g. a timestamp placeholder).
        return rx.fullmatch(json.dumps(actual)) is not None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, int | float):
        return type(actual) is type(expected) and actual == expected
    return bool(actual == expected)


def check(case: Mapping[str, Any]) -> tuple[bool, str]:
    """Run one case on the engine; returns (passed, explanation)."""
    from orchestrator.engine import execute

    expected = case["expected"]
    replacements = list(case.get("snapshot_replacements") or [])
    if expected["status"] == "ABORTED":
        run = _stopped(case)
    else:
        run = execute(case["definition"], case["input"], virtual_time=True, start_time=recorded_start(case),
                      express=case.get("state_machine_type") == "EXPRESS")
    got: dict[str, Any] = {"status": run.status}
    if run.status == "SUCCEEDED":
        got["output"] = run.output
    elif run.status == "FAILED":
        got["error"], got["cause"] = run.error, run.cause
    want = {k: expected.get(k) for k in got}
    ok = matches(got, want, replacements) if want["status"] == got["status"] else False
    if expected["status"] == "TIMED_OUT" and run.status == "TIMED_OUT":
        ok = True
    return ok, f"expected {json.dumps(want)[:600]}\n     got {json.dumps(got)[:600]}"


def _stopped(case: Mapping[str, Any]) -> Any:
    """StopExecution as the recording did: right after the first state was entered (real time)."""
    import threading

    from orchestrator.engine import start

    entered = threading.Event()

    def on_event(event: Mapping[str, Any]) -> None:
        if str(event["type"]).endswith("StateEntered"):
            entered.set()

    execution = start(case["definition"], case["input"], on_event=on_event)
    if not entered.wait(5):
        raise AssertionError("the first state was never entered")
    execution.stop()
    return execution.wait(5)


def mocked_cases(path: Path = CASES_PATH) -> list[dict[str, Any]]:
    """Service cases recorded with a Step Functions Local mock configuration."""
    return [c for c in load_cases(path) if c.get("mock_config") and c.get("mock_test_case")]


def mock_integrations(case: Mapping[str, Any]) -> dict[str, Any]:
    """The integrations of a case recorded with a Step Functions Local mock configuration.

    Its test case, read by ``orchestrator.local.mocks`` (the one reader of MockConfigFiles), answers
    each mocked Task the way its integration pattern reports results.
    """
    from orchestrator.local.mocks import MockConfig

    config = MockConfig.from_dict(case["mock_config"], f"case {case['id']}")
    machine = next(iter(config.state_machines))
    return config.case(machine, case["mock_test_case"]).integrations()


def history_length_matches(case: Mapping[str, Any]) -> bool | None:
    """Whether the engine records as many history events as AWS did (None: not recorded)."""
    from orchestrator.engine import execute

    n = case["expected"].get("n_events")
    if n is None:
        return None
    if case["expected"]["status"] == "ABORTED":
        run = _stopped(case)
    else:
        integrations = mock_integrations(case) if case.get("mock_config") else None
        run = execute(case["definition"], case["input"], virtual_time=True, start_time=recorded_start(case),
                      express=case.get("state_machine_type") == "EXPRESS", integrations=integrations)
    return len(run.history) == n


def iter_results(cases: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], bool, str]]:
    for case in cases:
        try:
            ok, why = check(case)
        except Exception as e:  # reported, not hidden: a crash is a failing case
            ok, why = False, f"crashed: {e!r}"
        yield case, ok, why
