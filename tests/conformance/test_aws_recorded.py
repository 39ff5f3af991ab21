"""Every pure-ASL execution recorded on AWS, replayed on the embedded engine.

Cases come from ``tests/conformance/aws-recorded/cases.jsonl`` (vendored; a missing file fails
collection). Each case runs with ``virtual_time=True`` and the
recording's date as the start time, so Wait states and timestamps behave as they did on AWS; the
one ABORTED recording is replayed in real time with a StopExecution once its first state runs.
"""

from __future__ import annotations

import pytest
from recorded import (
    CASES_PATH,
    check,
    history_length_matches,
    load_cases,
    mocked_cases,
    pure_cases,
    short_id,
)

# Service cases whose recorded outcome is decided before any service is called: they run
# with no integrations configured.
SERVICE_FREE = (
    "TestAssignReferenceVariables::test_undefined_reference[BASE_UNDEFINED_ARGUMENTS_FIELD]::get_execution_history",
    "TestBaseScenarios::test_invalid_jsonpath[ST.INVALID_JSONPATH_IN_TIMEOUTSECONDSPATH]::get_execution_history",
    "TestBaseScenarios::test_invalid_jsonpath[ST.INVALID_JSONPATH_IN_HEARTBEATSECONDSPATH]::get_execution_history",
)
CASES = pure_cases() + [c for c in load_cases() if short_id(c) in SERVICE_FREE]

# Cases the engine does not pass, each with the honest reason.
XFAIL: dict[str, str] = {}



def test_corpus_is_present() -> None:
    assert len(load_cases()) == 736, CASES_PATH
    assert len(CASES) >= 563


def _param(case: dict[str, object]) -> object:
    cid = short_id(case)  # type: ignore[arg-type]
    marks = [pytest.mark.xfail(reason=XFAIL[cid], strict=True)] if cid in XFAIL else []
    return pytest.param(case, id=cid[:150], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_recorded_case(case: dict[str, object]) -> None:
    ok, why = check(case)
    assert ok, why


def test_xfail_list_names_real_cases() -> None:
    ids = {short_id(c) for c in CASES}
    assert set(XFAIL) <= ids


# Recorded history lengths the engine does not reproduce.
HISTORY_XFAIL: dict[str, str] = {
    "TestBaseScenarios::test_parallel_state_order::get_execution_history":
        "AWS recorded 13 events where Entered/Started/4x2 branch events/Succeeded/Exited make 14; the "
        "nested case's 9 (vs 12) is not consistent with any fixed per-Parallel event set, cause unknown",
    "TestBaseScenarios::test_parallel_state_nested::get_execution_history":
        "see test_parallel_state_order: recorded count not reproducible by a consistent event model",
}
# Service cases recorded with a Step Functions Local mock config: their outputs are the real
# services' answers, which the mocks only abbreviate, so only their history lengths are compared.
WITH_LENGTH = [c for c in CASES + mocked_cases() if c["expected"].get("n_events") is not None]


def _length_param(case: dict[str, object]) -> object:
    cid = short_id(case)  # type: ignore[arg-type]
    marks = [pytest.mark.xfail(reason=HISTORY_XFAIL[cid], strict=True)] if cid in HISTORY_XFAIL else []
    return pytest.param(case, id=cid[:150], marks=marks)


@pytest.mark.parametrize("case", [_length_param(c) for c in WITH_LENGTH])
def test_history_length_matches_aws(case: dict[str, object]) -> None:
    assert history_length_matches(case) is True
