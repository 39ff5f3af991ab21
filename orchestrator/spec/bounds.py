"""Checks on what no schema states: every value a finite number or clean text, and AWS's size limits.

Hostile or generated specs reach these: ``.inf`` and ``NaN`` (YAML and Python's JSON reader accept
both, JSON itself does not), integers beyond 64 bits, NUL and other control characters inside
names and commands, nesting past any real workflow, and values too large for what AWS accepts at
deploy time (a Batch job's container overrides, a Lambda function's environment). Each becomes
one problem at its location, as every other check does.
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from typing import TYPE_CHECKING, Any

from orchestrator.limits import (
    CONTAINER_OVERRIDES_MAX,
    JSON_INT_MAX,
    LAMBDA_ENVIRONMENT_MAX,
    SPEC_MAX_DEPTH,
)
from orchestrator.spec.issues import Path

if TYPE_CHECKING:
    from orchestrator.spec.checks import Context

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _control(text: str) -> tuple[int, str] | None:
    for index, char in enumerate(text):
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) == "Cc":
            return index, char
    return None


def check_values(ctx: Context) -> None:
    """Finite numbers, 64-bit integers, no control characters, bounded nesting (iteratively)."""
    stack: list[tuple[Path, Any, int]] = [((), ctx.doc, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > SPEC_MAX_DEPTH:
            ctx.add(path, f"is nested more than {SPEC_MAX_DEPTH} levels deep (limits.SPEC_MAX_DEPTH); "
                    "no workflow needs that", "flatten it: a workflow's fields nest a few levels at most")
            continue
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            ctx.add(path, f"is {value!r}, not a finite number; JSON and AWS take finite numbers only",
                    "write a finite number, e.g. 1.5")
        elif isinstance(value, int) and abs(value) > JSON_INT_MAX:
            ctx.add(path, f"is {value}, out of range: AWS takes integers up to {JSON_INT_MAX} (2^63 - 1)",
                    "write a smaller number")
            if abs(value) > sys.float_info.max:
                ctx.past_floats = True
        elif isinstance(value, str):
            bad = _control(value)
            if bad is not None:
                index, char = bad
                ctx.add(path, f"contains the control character U+{ord(char):04X} at position {index + 1}; "
                        "AWS rejects it in names and commands", "remove it")
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and _control(key) is not None:
                    ctx.add(path + (key,), "has a key with a control character", "remove it from the key")
                stack.append((path + (key,), item, depth + 1))
        elif isinstance(value, list):
            stack.extend((path + (i,), item, depth + 1) for i, item in enumerate(value))


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


# The most bytes one character of a string can take in compact JSON without ASCII escaping: a control
# character is written \u00XX; anything else is at most four bytes of UTF-8.
_MAX_BYTES_PER_CHAR = 6
# Per item of the overrides, beyond its strings: quotes, commas and {"name":,"value":}; and once.
_ITEM_OVERHEAD, _OVERRIDES_OVERHEAD = 24, 40


def _overrides_fit(command: list[Any], env: dict[Any, Any]) -> bool:
    """Whether the overrides certainly fit, from string lengths alone (no encoding): most jobs'
    are a few words, far below the limit. Non-strings are left to the exact count."""
    total = _OVERRIDES_OVERHEAD
    for text in command:
        if not isinstance(text, str):
            return False
        total += _ITEM_OVERHEAD + _MAX_BYTES_PER_CHAR * len(text)
    for key, text in env.items():
        if not isinstance(key, str) or not isinstance(text, str):
            return False
        total += _ITEM_OVERHEAD + _MAX_BYTES_PER_CHAR * (len(key) + len(text))
    return total <= CONTAINER_OVERRIDES_MAX


def check_deploy_sizes(ctx: Context) -> None:
    """What a deploy or a submit would be refused for, found now: container overrides, Lambda environment."""
    for index, _, kind, job in ctx.jobs():
        if kind == "batch":
            command, env = job.get("command", []), job.get("environment", {})
            if isinstance(command, list) and isinstance(env, dict) and not _overrides_fit(command, env):
                size = _size({"command": command,
                              "environment": [{"name": k, "value": v} for k, v in env.items()]})
                if size > CONTAINER_OVERRIDES_MAX:
                    ctx.add(("tasks", index, "batch", "environment" if env else "command"),
                            f"the job's command and environment come to {size:,} bytes; Batch passes them to ECS "
                            f"as container overrides, which are at most {CONTAINER_OVERRIDES_MAX:,} "
                            "(limits.CONTAINER_OVERRIDES_MAX)",
                            "move large values into a file the job reads (or the image), or into Secrets "
                            "Manager via secrets:")
            continue
        env = job.get("environment")
        if isinstance(env, dict):
            size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in env.items())
            if size > LAMBDA_ENVIRONMENT_MAX:
                ctx.add(("tasks", index, kind, "environment"),
                        f"the function's environment variables total {size:,} bytes; Lambda takes at most "
                        f"{LAMBDA_ENVIRONMENT_MAX:,} (limits.LAMBDA_ENVIRONMENT_MAX)",
                        "keep large values in a file, Parameter Store or S3 and read them in the handler")
