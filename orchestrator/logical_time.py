"""Logical time: the ``scheduled_time`` every execution's input carries (DESIGN.md contract 5).

A run knows which fire it is for, not when it happened to start: EventBridge Scheduler puts
``<aws.scheduler.scheduled-time>`` in the input on AWS, the local scheduler and ``backfill`` pass
the fire time, and a manual start uses its own start time unless told otherwise
(``orchestrator run --scheduled-time T``, ``run_workflow(..., scheduled_time=T)``). The compiled
machine's first state fills in ``$$.Execution.StartTime`` when the input has none, so a start from
the AWS console works too; every Batch job then sees it as ``ORCHESTRATOR_SCHEDULED_TIME``.

The text is ISO-8601 in UTC with a ``Z``, to the second like Scheduler's (milliseconds only when
given): ``2026-03-29T01:00:00Z``.

    >>> with_scheduled_time({"day": 1}, "2026-03-29T03:00:00+02:00")
    {'day': 1, 'scheduled_time': '2026-03-29T01:00:00Z'}
    >>> format_scheduled_time(parse_scheduled_time("2026-03-29T01:00:00.250Z"))
    '2026-03-29T01:00:00.250Z'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from orchestrator.inputs import InputError

FIELD = "scheduled_time"  # the input key (contract 5)
ENV = "ORCHESTRATOR_SCHEDULED_TIME"  # what a Batch job sees
EXECUTION_NAME_ENV = "ORCHESTRATOR_EXECUTION_NAME"
EXAMPLE = "2026-03-29T01:00:00Z"


def parse_scheduled_time(value: str | datetime, *, where: str = "scheduled_time") -> datetime:
    """An aware UTC datetime from ISO-8601 text (with a zone) or an aware datetime.

    A time without a zone is refused rather than guessed: the same text means different instants
    on this machine and on AWS.

    >>> parse_scheduled_time("2026-01-01T00:00:00+01:00").isoformat()
    '2025-12-31T23:00:00+00:00'
    """
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            raise InputError(f"{where}: {value!r} is not an ISO-8601 time; write it like {EXAMPLE!r}.") from None
    else:
        raise InputError(f"{where}: expected ISO-8601 text like {EXAMPLE!r}, got {type(value).__name__}.")
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputError(f"{where}: {value!s} has no time zone; add one, e.g. {EXAMPLE!r} for UTC.")
    return when.astimezone(UTC)


def format_scheduled_time(when: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (``.mmm`` added only for a fraction of a second).

    >>> format_scheduled_time(datetime(2026, 3, 29, 1, tzinfo=UTC))
    '2026-03-29T01:00:00Z'
    """
    when = when.astimezone(UTC)
    spec = "milliseconds" if when.microsecond else "seconds"
    return when.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def with_scheduled_time(input: Any, scheduled_time: str | datetime | None = None, *,
                        now: datetime | None = None) -> dict[str, Any]:
    """``input`` (an object, or nothing for ``{}``) carrying ``scheduled_time``.

    The time given wins over none; an input that already carries one keeps it, unless a different
    one is given too (two answers to "which run is this" is an error, not a guess). With neither,
    the time is ``now`` (the start time of a manual run).

    >>> with_scheduled_time(None, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    {'scheduled_time': '2026-01-02T03:04:05Z'}
    """
    if input is None:
        input = {}
    if not isinstance(input, Mapping):
        raise InputError(
            f"The execution input must be a JSON object to carry {FIELD!r}; got {type(input).__name__}. "
            f"Wrap it: --input '{{\"value\": ...}}'.")
    out = dict(input)
    given = None if scheduled_time is None else format_scheduled_time(
        parse_scheduled_time(scheduled_time, where="--scheduled-time"))
    if FIELD in out:
        carried = format_scheduled_time(parse_scheduled_time(out[FIELD], where=f"input field {FIELD!r}"))
        if given is not None and given != carried:
            raise InputError(
                f"The input's {FIELD!r} is {out[FIELD]!r} but --scheduled-time is {given!r}; give only one.")
        out[FIELD] = carried
        return out
    if given is None:
        given = format_scheduled_time((now or datetime.now(UTC)).replace(microsecond=0))
    out[FIELD] = given
    return out
