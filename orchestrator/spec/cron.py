"""EventBridge schedule expressions: ``cron(...)``, ``rate(...)``, ``at(...)`` — parsing, checking
and next fire times.

AWS's cron has six fields, ``minutes hours day-of-month month day-of-week year``, with ``?`` in
exactly one of the two day fields, day-of-week numbered ``SUN``\\=1 to ``SAT``\\=7, and the Quartz
extras ``L``, ``W`` and ``#``. croniter speaks the five-field Unix dialect, so this module
evaluates the AWS one itself.

    >>> from datetime import datetime, timezone
    >>> from orchestrator.model import Schedule
    >>> times = next_fire_times(Schedule(expression="cron(0 10 ? * 6L *)"), 2,
    ...                         after=datetime(2026, 1, 1, tzinfo=timezone.utc))
    >>> [t.date().isoformat() for t in times]   # the last Friday of each month
    ['2026-01-30', '2026-02-27']
"""

from __future__ import annotations

import calendar
import itertools
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from orchestrator import limits, model
from orchestrator.errors import closest

MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
FIELDS = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_RANGES = {
    "minutes": (0, 59), "hours": (0, 23), "day-of-month": (1, 31), "month": (1, 12),
    "day-of-week": (1, 7), "year": (limits.CRON_YEAR_MIN, limits.CRON_YEAR_MAX),
}
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86_400}


class ScheduleError(ValueError):
    """``args[0]`` says what is wrong with the expression; ``fix`` is a corrected one if known."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True, slots=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    # Day of month: None for "?"; else a set of days, or the specials "L", "LW", "<n>W".
    days: frozenset[int] | str | None
    # Day of week: None for "?"; else a set of 1..7, or "<d>L" (last) or "<d>#<k>" (k-th).
    weekdays: frozenset[int] | str | None

    def matches(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        if self.days is not None and not _day_matches(self.days, day, last):
            return False
        return self.weekdays is None or _weekday_matches(self.weekdays, day, last)


@dataclass(frozen=True, slots=True)
class Rate:
    value: int
    unit: str  # minute, hour or day

    @property
    def seconds(self) -> int:
        return self.value * _RATE_UNITS[self.unit]


@dataclass(frozen=True, slots=True)
class At:
    when: datetime  # naive, in the schedule's time zone


Expression = Cron | Rate | At


def aws_weekday(day: date) -> int:
    """EventBridge's day-of-week number: SUN=1 ... SAT=7."""
    return day.isoweekday() % 7 + 1


def _day_matches(spec: frozenset[int] | str, day: date, last: int) -> bool:
    if isinstance(spec, frozenset):
        return day.day in spec
    if spec == "L":
        return day.day == last
    if spec == "LW":
        target = last
    else:  # "<n>W": the weekday nearest day n, never leaving the month
        target = int(spec[:-1])
        if target > last:
            return False
    return day.day == _nearest_weekday(day.year, day.month, target, last)


def _nearest_weekday(year: int, month: int, target: int, last: int) -> int:
    weekday = date(year, month, target).weekday()  # Monday=0
    if weekday == 5:  # Saturday: Friday before, or Monday after when that would leave the month
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: Monday after, or Friday before at the month's end
        return target + 1 if target < last else target - 2
    return target


def _weekday_matches(spec: frozenset[int] | str, day: date, last: int) -> bool:
    weekday = aws_weekday(day)
    if isinstance(spec, frozenset):
        return weekday in spec
    if spec.endswith("L"):
        return weekday == int(spec[:-1]) and day.day + 7 > last
    wanted, nth = spec.split("#")
    return weekday == int(wanted) and (day.day - 1) // 7 + 1 == int(nth)


# -- parsing -------------------------------------------------------------------------------------
def parse_expression(text: str) -> Expression:
    """Parse ``cron(...)``, ``rate(...)`` or ``at(...)``; ``ScheduleError`` says what is wrong."""
    return _parse_cached(text)


@lru_cache(maxsize=256)
def _parse_cached(text: str) -> Expression:
    stripped = text.strip()
    match = re.fullmatch(r"(\w+)\s*\((.*)\)", stripped, re.S)
    if not match:
        raise ScheduleError(
            f"is not a schedule expression; got {text!r}",
            'a "cron(minutes hours day-of-month month day-of-week year)", "rate(5 minutes)" '
            'or "at(2026-01-31T09:00:00)" expression, e.g. "cron(0 2 * * ? *)"',
        )
    kind, body = match.group(1), match.group(2)
    if kind == "cron":
        return _parse_cron(body)
    if kind == "rate":
        return _parse_rate(body)
    if kind == "at":
        return _parse_at(body)
    guess = closest(kind.lower(), ["cron", "rate", "at"])
    raise ScheduleError(
        f"has unknown kind {kind!r}; EventBridge schedules are cron(...), rate(...) or at(...); got {text!r}",
        f'"{guess}({body})"' if guess else None,
    )


def _parse_cron(body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        fix = None
        if len(fields) == 5:
            fixed = fields + ["*"]
            if fixed[2] != "?" and fixed[4] != "?":
                if fixed[4] == "*":
                    fixed[4] = "?"
                else:
                    fixed[2] = "?"
            fix = f'"cron({" ".join(fixed)})"'
        raise ScheduleError(
            f"has {len(fields)} fields; EventBridge cron needs 6 "
            f"(minutes hours day-of-month month day-of-week year); got 'cron({body})'",
            fix,
        )
    minute, hour, dom, month, dow, year = fields
    if dom == "?" and dow == "?":
        raise ScheduleError(
            f"has '?' in both day-of-month and day-of-week; exactly one of them takes '?'; got 'cron({body})'",
            f'"cron({minute} {hour} * {month} ? {year})"',
        )
    if dom != "?" and dow != "?":
        fixed = list(fields)
        if dow == "*":
            fixed[4] = "?"
        else:
            fixed[2] = "?"
        raise ScheduleError(
            "sets both day-of-month and day-of-week; EventBridge needs '?' in one of them; "
            f"got 'cron({body})'",
            f'"cron({" ".join(fixed)})"',
        )
    return Cron(
        minutes=_parse_field(minute, "minutes", body),
        hours=_parse_field(hour, "hours", body),
        months=_parse_field(month, "month", body),
        years=_parse_field(year, "year", body),
        days=None if dom == "?" else _parse_days(dom, body),
        weekdays=None if dow == "?" else _parse_weekdays(dow, body),
    )


def _value(token: str, field: str, body: str) -> int:
    names = MONTHS if field == "month" else DAYS if field == "day-of-week" else {}
    if token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        hint = ""
        if names:
            hint = f" (numbers or {next(iter(names))}-{list(names)[-1]})"
        raise ScheduleError(f"has {token!r} in the {field} field, which is not a value{hint}; got 'cron({body})'")
    number = int(token)
    low, high = _RANGES[field]
    if not low <= number <= high:
        extra = " (SUN=1 ... SAT=7)" if field == "day-of-week" else ""
        raise ScheduleError(
            f"has {field} {number} outside {low}-{high}{extra}; got 'cron({body})'"
        )
    return number


def _parse_field(text: str, field: str, body: str) -> frozenset[int]:
    low, high = _RANGES[field]
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if field == "day-of-week":
                raise ScheduleError(f"uses a step '/' in day-of-week, which EventBridge does not allow; got 'cron({body})'")
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(
                    f"has step {step_text!r} in the {field} field; a step is a positive whole number; got 'cron({body})'"
                )
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, second = base.partition("-")
            start, end = _value(first, field, body), _value(second, field, body)
            if start > end:
                raise ScheduleError(
                    f"has the range {base!r} in the {field} field running backwards; got 'cron({body})'"
                )
        elif base:
            start = _value(base, field, body)
            end = high if slash else start
        else:
            raise ScheduleError(f"has an empty item in the {field} field; got 'cron({body})'")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _parse_days(text: str, body: str) -> frozenset[int] | str:
    upper = text.upper()
    if upper in ("L", "LW"):
        return upper
    if upper.endswith("W"):
        day = upper[:-1]
        if not day.isdigit() or not 1 <= int(day) <= 31:
            raise ScheduleError(f"has {text!r} in day-of-month; 'W' follows a day 1-31, as in '15W'; got 'cron({body})'")
        return f"{int(day)}W"
    if "L" in upper or "W" in upper:
        raise ScheduleError(
            f"has {text!r} in day-of-month; 'L' and 'W' stand alone ('L', 'LW', '15W'); got 'cron({body})'"
        )
    return _parse_field(text, "day-of-month", body)


def _parse_weekdays(text: str, body: str) -> frozenset[int] | str:
    upper = text.upper()
    if upper == "L":  # Quartz: a bare L in day-of-week is the last day of the week, Saturday
        return frozenset({7})
    if upper.endswith("L"):
        return f"{_value(text[:-1], 'day-of-week', body)}L"
    if "#" in upper and ("," in upper or "-" in upper):
        raise ScheduleError(
            f"has {text!r} in day-of-week; a '#' expression stands alone (EventBridge reads "
            f"'3#1,6#3' as two expressions); got 'cron({body})'"
        )
    if "#" in upper:
        day, _, nth = upper.partition("#")
        number = _value(day, "day-of-week", body)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ScheduleError(
                f"has {text!r} in day-of-week; '#' is followed by 1-5 (the n-th such day of the month); got 'cron({body})'"
            )
        return f"{number}#{int(nth)}"
    return _parse_field(text, "day-of-week", body)


def _parse_rate(body: str) -> Rate:
    match = re.fullmatch(r"\s*(\S+)\s+(\S+)\s*", body)
    if not match:
        raise ScheduleError(
            f"needs a value and a unit, as in 'rate(5 minutes)'; got 'rate({body})'", '"rate(5 minutes)"'
        )
    number, unit = match.groups()
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _RATE_UNITS:
        fix = None
        if singular.lower() == "week" and number.isdigit():
            fix = f'"rate({int(number) * 7} days)"'
        else:
            guess = closest(singular.lower(), _RATE_UNITS)
            if guess:
                fix = f'"rate({number} {guess}{"" if number == "1" else "s"})"'
        raise ScheduleError(
            f"has unit {unit!r}; rate units are minute(s), hour(s) or day(s); got 'rate({body})'", fix
        )
    if not re.fullmatch(r"-?\d+", number):
        raise ScheduleError(f"needs a whole number; got 'rate({body})'", None)
    value = int(number)
    if value <= 0:
        raise ScheduleError(f"needs a positive number; got 'rate({body})'", f'"rate(1 {singular})"')
    wanted = singular if value == 1 else singular + "s"
    if unit != wanted:
        raise ScheduleError(
            f"says {unit!r} with {value}; EventBridge wants '{wanted}' (singular only for 1); got 'rate({body})'",
            f'"rate({value} {wanted})"',
        )
    return Rate(value, singular)


def _parse_at(body: str) -> At:
    text = body.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", text):
        raise ScheduleError(
            f"needs a timestamp yyyy-mm-ddThh:mm:ss (no zone: the schedule's timezone applies); got 'at({body})'",
            '"at(2026-01-31T09:00:00)"',
        )
    try:
        when = datetime.fromisoformat(text)
    except ValueError as error:
        raise ScheduleError(
            f"has an impossible date or time ({error}); got 'at({body})'", '"at(2026-01-31T09:00:00)"'
        ) from None
    return At(when)


# -- time zones ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str) -> str | None:
    """``None`` if ``name`` is an IANA time zone, else the closest known name (or ``""``)."""
    if name in _zones():
        return None
    lowered = {zone.lower(): zone for zone in _zones()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    guess = closest(name.lower(), lowered)
    return lowered[guess] if guess else ""


# -- fire times ----------------------------------------------------------------------------------
def next_fire_times(
    schedule: model.Schedule, count: int = 5, after: datetime | None = None, *,
    anchor: datetime | None = None,
) -> list[datetime]:
    """The next ``count`` fire times strictly after ``after``, aware, in the schedule's time zone.

    A naive ``after`` is read in the schedule's zone; ``None`` means now. Daylight saving follows
    EventBridge Scheduler: a local time that does not exist (clocks spring forward) is skipped, and
    one that happens twice (clocks fall back) fires once, at its first occurrence. A ``rate`` counts
    whole periods of elapsed time from ``anchor`` (AWS counts from the schedule's start date, or
    from when it was created); without one, from ``after``.
    """
    return list(itertools.islice(fire_times(schedule, after, anchor=anchor), max(count, 0)))


def fire_times(
    schedule: model.Schedule, after: datetime | None = None, *, anchor: datetime | None = None,
    inclusive: bool = False,
) -> Iterator[datetime]:
    """Every fire time after ``after`` (from it, when ``inclusive``), in order, lazily; as
    :func:`next_fire_times`. The local scheduler and ``backfill`` walk this, so ``show`` and
    what actually fires cannot disagree.

    >>> from itertools import islice
    >>> start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    >>> hourly = model.Schedule(expression="cron(0 * * * ? *)", timezone="Europe/Berlin")
    >>> [t.strftime("%H:%M%z") for t in islice(fire_times(hourly, start), 3)]  # 02:00 does not exist
    ['03:00+0200', '04:00+0200', '05:00+0200']
    """
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    if after is None:
        after = datetime.now(UTC)
    if after.tzinfo is None:
        after = after.replace(tzinfo=zone)
    after_utc = after.astimezone(UTC)
    if inclusive:
        after_utc -= _TICK
    expression = parse_expression(schedule.expression)
    if isinstance(expression, Rate):
        yield from _rate_times(expression, zone, after_utc, anchor)
    elif isinstance(expression, At):
        when = _exists(expression.when, zone)  # a one-time schedule inside a spring gap never fires
        if when is not None and when.astimezone(UTC) > after_utc:
            yield when
    else:
        yield from _cron_times(expression, zone, after_utc)


# Fire times are whole seconds; "from t" is "after t minus one microsecond".
_TICK = timedelta(microseconds=1)


def _rate_times(rate: Rate, zone: zoneinfo.ZoneInfo, after_utc: datetime,
                anchor: datetime | None) -> Iterator[datetime]:
    # EventBridge Scheduler: a rate is elapsed time, so rate(1 day) is 24 hours even across a
    # 23- or 25-hour day, and the first fire is at the start (the anchor) itself.
    step = timedelta(seconds=rate.seconds)
    if anchor is None:
        first = after_utc + step
    else:
        base = anchor.replace(tzinfo=zone) if anchor.tzinfo is None else anchor
        base = base.astimezone(UTC).replace(microsecond=0)
        periods = 0 if after_utc < base else (after_utc - base) // step + 1
        first = base + step * periods
    while first.year <= limits.CRON_YEAR_MAX:
        yield first.astimezone(zone)
        first += step


def _exists(naive: datetime, zone: zoneinfo.ZoneInfo) -> datetime | None:
    local = naive.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None  # in the gap when clocks spring forward
    return local


def _cron_times(cron: Cron, zone: zoneinfo.ZoneInfo, after_utc: datetime) -> Iterator[datetime]:
    hours, minutes = sorted(cron.hours), sorted(cron.minutes)
    # Start a day early: a UTC instant can fall on the previous local day.
    day = (after_utc.astimezone(zone) - timedelta(days=1)).date()
    while day.year <= limits.CRON_YEAR_MAX:
        if day.year not in cron.years:
            later = [year for year in cron.years if year > day.year]
            if not later:
                return
            day = date(min(later), 1, 1)
            continue
        if day.month not in cron.months:
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            continue
        if cron.matches(day) and _latest(day, 23, 59, zone) > after_utc:
            for hour in hours:
                # Skip an hour wholly before ``after``: its last minute, read as late as the zone
                # allows (fold=1), bounds every time in it, so the minutes are walked for about
                # one hour per call rather than for a whole day.
                if _latest(day, hour, 59, zone) <= after_utc:
                    continue
                for minute in minutes:
                    # fold=0: a time the autumn change repeats fires once, at its first occurrence.
                    local = _exists(datetime(day.year, day.month, day.day, hour, minute), zone)
                    if local is not None and local.astimezone(UTC) > after_utc:
                        yield local
        day += timedelta(days=1)


def _latest(day: date, hour: int, minute: int, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, 59, tzinfo=zone, fold=1).astimezone(UTC)
