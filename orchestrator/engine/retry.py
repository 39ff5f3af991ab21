"""Retry and Catch: which errors a retrier or catcher matches, and how long to back off.

AWS rules (Step Functions developer guide, "Error handling"):
- ``States.Runtime`` is terminal: nothing retries or catches it, not even a handler naming it.
- ``States.ALL`` matches every other error. (The guide says States.ALL cannot catch
  ``States.DataLimitExceeded``, but AWS's recorded executions show it catching a task result
  over the payload limit, so it does here.)
- ``States.TaskFailed`` is a wildcard for every error except ``States.Timeout`` (and the
  heartbeat timeout, which is a kind of timeout).
- The first retrier whose ``ErrorEquals`` matches decides; once its ``MaxAttempts`` are used up,
  the error goes to Catch without trying later retriers.

>>> matches(["States.TaskFailed"], "Lambda.Unknown"), matches(["States.TaskFailed"], "States.Timeout")
(True, False)
>>> delay({"IntervalSeconds": 2, "BackoffRate": 3, "MaxDelaySeconds": 10}, 2)
10.0
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

TERMINAL = frozenset({"States.Runtime"})
TIMEOUTS = frozenset({"States.Timeout", "States.HeartbeatTimeout"})

DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_RATE = 2.0


def matches(error_equals: Sequence[str], error: str) -> bool:
    if error in TERMINAL:
        # Not even a retrier or catcher that names States.Runtime matches it (AWS recorded a
        # Catch on ["States.Runtime"] letting the execution fail).
        return False
    for name in error_equals:
        if name == error:
            return True
        if name == "States.ALL":
            return True
        if name == "States.TaskFailed" and error not in TIMEOUTS:
            return True
        if name == "States.Timeout" and error == "States.HeartbeatTimeout":
            return True
    return False


def find(handlers: Sequence[Mapping[str, Any]] | None, error: str) -> int | None:
    """Index of the first retrier / catcher that matches ``error``."""
    for i, handler in enumerate(handlers or ()):
        if matches(handler.get("ErrorEquals", ()), error):
            return i
    return None


def delay(retrier: Mapping[str, Any], attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) under ``retrier``."""
    interval = float(retrier.get("IntervalSeconds", DEFAULT_INTERVAL_SECONDS))
    rate = float(retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE))
    seconds = interval * rate ** attempt
    cap = retrier.get("MaxDelaySeconds")
    if cap is not None:
        seconds = min(seconds, float(cap))
    if retrier.get("JitterStrategy") == "FULL":
        seconds = (rng or random).uniform(0.0, seconds)
    return seconds


def max_attempts(retrier: Mapping[str, Any]) -> int:
    return int(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS))
