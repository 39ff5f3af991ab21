"""Every pure-ASL execution recorded on AWS, replayed on the embedded engine.

Cases come from ``shared/conformance/aws-recorded/cases.jsonl`` (a sibling of the repository);
the module is skipped when the file is absent. Each case runs with ``virtual_time=True`` and the
recording's date as the start time, so Wait states and timestamps behave as they did on AWS.
"""

from __future__ import annotations

import pytest
from recorded import CASES_PATH, check, pure_cases, short_id

CASES = pure_cases()

# Cases the engine does not pass, each with the honest reason.
XFAIL: dict[str, str] = {
    "TestExpressSync::test_query_runtime_memory::start_execution_sync_response":
        "EXPRESS execution: AWS's $$.Execution has no RedriveCount and an ':express:' ARN; "
        "the engine runs every execution as STANDARD",
}

pytestmark = pytest.mark.skipif(not CASES, reason=f"recorded cases not found at {CASES_PATH}")


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
