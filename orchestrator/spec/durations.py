"""Durations in specs: a number is seconds; a string is ``"90s"``, ``"5m"``, ``"2h"``, ``"1d"`` or a
combination such as ``"1h30m"`` (largest unit first).

    >>> parse_duration("1h30m")
    5400.0
    >>> format_duration(5400)
    '1h30m'
"""

from __future__ import annotations

import math
import re

UNITS: dict[str, int] = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*")
_WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d",
}
EXAMPLES = '"90s", "5m", "2h", "1d", "1h30m" or a number of seconds'


class DurationError(ValueError):
    """``args[0]`` says what is wrong; ``suggestion`` is a corrected value when one is obvious."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


def parse_duration(value: object) -> float:
    """Seconds in ``value``; ``DurationError`` when it is not a duration (zero is allowed here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DurationError(f"must be a duration ({EXAMPLES}); got {_show(value)}")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise DurationError(f"must be a finite number of seconds; got {value!r}")
        if value < 0:
            raise DurationError(f"must not be negative; got {value!r}", format_duration(-value))
        return float(value)
    text = value.strip()
    if text.startswith("-"):
        rest = text[1:].strip()
        try:
            positive = parse_duration(rest)
        except DurationError:
            positive = None
        raise DurationError(
            f"must not be negative; got {value!r}",
            format_duration(positive) if positive is not None else None,
        )
    if not text:
        raise DurationError(f"must be a duration ({EXAMPLES}); got an empty string")
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return _finite(float(text), value)
    position = 0
    total = 0.0
    seen: list[str] = []
    suggestion_parts: list[str] = []
    bad_unit: str | None = None
    while position < len(text):
        match = _PART.match(text, position)
        if not match:
            raise DurationError(f"is not a duration ({EXAMPLES}); got {value!r}")
        number, unit = match.group(1), match.group(2)
        # Upper-case H, D and S are plainly hours, days, seconds; "M" could be months, so it is not guessed.
        canonical = unit if unit in UNITS else _WORDS.get(unit.lower(), unit.lower() if unit in "HDS" else None)
        if canonical is None or unit not in UNITS:
            bad_unit = bad_unit or unit
        if canonical is None:
            raise DurationError(
                f"has unknown unit {unit!r} (use s, m, h or d); got {value!r}"
            )
        if canonical in seen:
            raise DurationError(f"repeats the unit {canonical!r}; got {value!r}")
        seen.append(canonical)
        total += float(number) * UNITS[canonical]
        suggestion_parts.append(f"{number}{canonical}")
        position = match.end()
    total = _finite(total, value)
    if bad_unit is not None:
        raise DurationError(
            f"has unit {bad_unit!r}; durations use s, m, h or d; got {value!r}",
            "".join(suggestion_parts),
        )
    if seen != sorted(seen, key=lambda u: -UNITS[u]):
        raise DurationError(
            f"lists units out of order (largest first); got {value!r}", format_duration(total)
        )
    return total


def _finite(seconds: float, value: object) -> float:
    # Four hundred digits are a float's infinity; nothing after this could count with it.
    if not math.isfinite(seconds):
        raise DurationError(f"must be a finite number of seconds; got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The canonical string for ``seconds``: ``"2h"``, ``"1h30m"``, ``"45s"``; fractions stay seconds."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest = int(seconds)
    if rest == 0:
        return "0s"
    parts = []
    for unit, size in UNITS.items():
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value)
