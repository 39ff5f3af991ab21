"""Pass rate of the embedded engine on the AWS-recorded executions, overall and by feature.

    python bench/conformance.py [-v]      # -v also lists every failing case
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "conformance"))

from recorded import (  # noqa: E402
    CASES_PATH,
    history_length_matches,
    iter_results,
    mocked_cases,
    pure_cases,
    short_id,
)


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    cases = pure_cases()
    if not cases:
        print(f"no cases at {CASES_PATH}")
        return 1
    total, passed = Counter(), Counter()
    failures: list[tuple[str, str, str]] = []
    t0 = time.perf_counter()
    for case, ok, why in iter_results(cases):
        feature = case.get("primary_feature", "?")
        total[feature] += 1
        if ok:
            passed[feature] += 1
        else:
            failures.append((feature, short_id(case), why))
    elapsed = time.perf_counter() - t0
    n, p = sum(total.values()), sum(passed.values())
    print(f"pure_asl cases: {p}/{n} passed = {100.0 * p / n:.1f}%  ({elapsed:.1f} s)")
    for feature in sorted(total, key=lambda f: -total[f]):
        print(f"  {feature:24s} {passed[feature]:4d}/{total[feature]:<4d} {100.0 * passed[feature] / total[feature]:5.1f}%")
    lengths = [history_length_matches(c) for c in cases]
    recorded = [m for m in lengths if m is not None]
    print(f"history length equal to AWS's (pure cases that recorded it): {sum(recorded)}/{len(recorded)}")
    mocked = [m for m in (history_length_matches(c) for c in mocked_cases()) if m is not None]
    print(f"history length equal to AWS's (service cases run on their recorded mocks): "
          f"{sum(mocked)}/{len(mocked)}")
    if verbose:
        for feature, cid, why in sorted(failures):
            print(f"\n[{feature}] {cid}\n     {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
