"""AWS limits live once, in ``orchestrator.limits``; the spec schema (JSON, so it cannot import
them) states the same numbers, and this holds them together."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

from orchestrator import limits

SCHEMA = Path(__file__).parent.parent / "orchestrator" / "spec" / "workflow.schema.json"


def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def test_docstring_examples() -> None:
    result = doctest.testmod(limits)
    assert result.attempted > 0 and result.failed == 0


def test_the_schema_states_the_same_limits() -> None:
    defs = _schema()["$defs"]
    task = defs["task"]["properties"]
    assert defs["workflowName"]["maxLength"] == limits.STATE_MACHINE_NAME_MAX
    assert defs["taskName"]["pattern"] == f"^[A-Za-z0-9_-]{{1,{limits.STATE_NAME_MAX}}}$"
    assert defs["retries"]["maximum"] == limits.SFN_MAX_RETRY_ATTEMPTS
    assert defs["retries"]["properties"]["attempts"]["maximum"] == limits.SFN_MAX_RETRY_ATTEMPTS
    array_size = task["batch"]["properties"]["array_size"]
    assert (array_size["minimum"], array_size["maximum"]) == (limits.BATCH_MIN_ARRAY_SIZE, limits.BATCH_MAX_ARRAY_SIZE)
    memory = task["lambda"]["properties"]["memory"]
    assert (memory["minimum"], memory["maximum"]) == (limits.LAMBDA_MEMORY_MIN, limits.LAMBDA_MEMORY_MAX)
    assert task["python"]["properties"]["memory"]["minimum"] == limits.LAMBDA_MEMORY_MIN


def test_payload_and_history_quotas() -> None:
    assert limits.MAX_PAYLOAD_BYTES == 262_144
    assert limits.MAX_HISTORY_EVENTS == 25_000
    assert limits.MAX_DEFINITION_BYTES == 1_048_576


def test_fargate_memory_steps() -> None:
    assert limits.FARGATE_MEMORY[0.25] == (512, 1024, 2048)
    assert limits.FARGATE_MEMORY[16.0][0] == 32768 and limits.FARGATE_MEMORY[16.0][-1] == 122880
