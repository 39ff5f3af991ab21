"""Local CloudWatch Logs: ``getLogEvents`` answered from the log files local Batch writes.

A compiled failure path reads the failed attempt's last lines with the CloudWatch Logs SDK
integration (``aws-sdk:cloudwatchlogs:getLogEvents``) inside the state machine; here the same call
reads ``<store>/logs/batch/<log stream>``, the attempt's own file, so an alert carries the same
lines locally as on AWS. Results are shaped as Step Functions' SDK integrations return them
(PascalCase keys).

    >>> import pathlib, tempfile
    >>> from orchestrator.local.store import Store
    >>> store = Store(tempfile.mkdtemp())
    >>> log = store.logs_dir / "batch" / "job" / "default" / "abc"
    >>> log.parent.mkdir(parents=True)
    >>> _ = log.write_text("one\\ntwo\\nthree\\n")
    >>> [e["Message"] for e in LocalLogs(store)({"LogStreamName": "job/default/abc", "Limit": 2})["Events"]]
    ['two', 'three']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrator.engine.integrations import TaskCall, TaskFailure
from orchestrator.local.store import Store

LIMIT_MAX = 10_000  # CloudWatch Logs: GetLogEvents returns at most 10,000 events


class LocalLogs:
    """The ``aws-sdk:cloudwatchlogs:getLogEvents`` integration over local Batch's log files."""

    def __init__(self, store: Store) -> None:
        self.root = store.logs_dir / "batch"

    def call(self, call: TaskCall) -> Any:
        return self(call.parameters if isinstance(call.parameters, Mapping) else {})

    def __call__(self, params: Mapping[str, Any]) -> dict[str, Any]:
        stream = str(params.get("LogStreamName") or "")
        path = (self.root / stream).resolve()
        # A stream name is a relative path inside the logs; nothing outside them is read.
        if not stream or not path.is_relative_to(self.root.resolve()) or not path.is_file():
            raise TaskFailure("CloudWatchLogs.ResourceNotFoundException",
                              "The specified log stream does not exist. (Service: CloudWatchLogs, "
                              "Status Code: 400, Error Code: ResourceNotFoundException)")
        limit = max(1, min(int(params.get("Limit") or LIMIT_MAX), LIMIT_MAX))
        from_head = bool(params.get("StartFromHead", False))
        stamp = int(path.stat().st_mtime * 1000)
        lines = _head(path, limit) if from_head else _tail(path, limit)
        events = [{"Timestamp": stamp, "Message": line, "IngestionTime": stamp} for line in lines]
        return {"Events": events, "NextForwardToken": f"f/{stamp}", "NextBackwardToken": f"b/{stamp}"}


def _lines(path: Path) -> Any:
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            yield line.rstrip("\n")


def _head(path: Path, limit: int) -> list[str]:
    out: list[str] = []
    for line in _lines(path):
        out.append(line)
        if len(out) == limit:
            break
    return out


def _tail(path: Path, limit: int) -> list[str]:
    return list(deque(_lines(path), maxlen=limit))  # bounded memory, whatever the file's size
