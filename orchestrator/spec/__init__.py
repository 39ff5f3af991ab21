"""Loading and validating workflows: YAML/JSON spec files, Python files, and spec documents.

    >>> from orchestrator.spec import from_dict, to_dict
    >>> wf = from_dict({"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}}]})
    >>> to_dict(wf) == {"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}}]}
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.spec.convert import to_dict
from orchestrator.spec.durations import format_duration, parse_duration
from orchestrator.spec.loader import load, load_all, select, validate_file
from orchestrator.spec.schema import schema
from orchestrator.spec.validate import from_dict

if TYPE_CHECKING:
    from orchestrator.spec.cron import next_fire_times, parse_expression

__all__ = [
    "format_duration", "from_dict", "load", "load_all", "next_fire_times", "parse_duration",
    "parse_expression", "schema", "select", "to_dict", "validate_file",
]


def __getattr__(name: str) -> Any:
    """The schedule names, imported on first use (PEP 562): the cron evaluator and the time zone
    database behind it are needed only by workflows with a schedule, not by every load."""
    if name in ("next_fire_times", "parse_expression"):
        from orchestrator.spec import cron

        value = getattr(cron, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
