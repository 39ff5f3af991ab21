"""Duration strings: parsing, canonical formatting, and what is rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.spec.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("90", 90.0), ("90s", 90.0), ("5m", 300.0), ("2h", 7200.0), ("1d", 86400.0),
     ("1h30m", 5400.0), ("1h 30m", 5400.0), ("1d2h3m4s", 93784.0), ("1.5h", 5400.0), ("0s", 0.0)],
)
def test_parse(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message", "suggestion"),
    [
        ("2 hours", "has unit 'hours'; durations use s, m, h or d; got '2 hours'", "2h"),
        ("5H", "has unit 'H'; durations use s, m, h or d; got '5H'", "5h"),
        ("5M", "has unknown unit 'M' (use s, m, h or d); got '5M'", None),
        ("3w", "has unknown unit 'w' (use s, m, h or d); got '3w'", None),
        ("30m1h", "lists units out of order (largest first); got '30m1h'", "1h30m"),
        ("1h1h", "repeats the unit 'h'; got '1h1h'", None),
        ("-5m", "must not be negative; got '-5m'", "5m"),
        (-3, "must not be negative; got -3", "3s"),
        ("", 'must be a duration ("90s", "5m", "2h", "1d", "1h30m" or a number of seconds); got an empty string', None),
        (True, 'must be a duration ("90s", "5m", "2h", "1d", "1h30m" or a number of seconds); got true', None),
        ("soon", 'is not a duration ("90s", "5m", "2h", "1d", "1h30m" or a number of seconds); got \'soon\'', None),
    ],
)
def test_rejected(text: object, message: str, suggestion: str | None) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert str(caught.value) == message
    assert caught.value.suggestion == suggestion


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (45, "45s"), (90, "1m30s"), (7200, "2h"),
                                               (5400, "1h30m"), (90061, "1d1h1m1s"), (1.5, "1.5s")])
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(0, 10**9))
def test_format_parses_back(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["1" + "0" * 400 + "h", "9" * 400, "1m" + "9" * 400 + "h"])
def test_a_duration_past_what_a_float_counts_is_refused(text: str) -> None:
    with pytest.raises(DurationError, match=r"^must be a finite number of seconds; got '"):
        parse_duration(text)
