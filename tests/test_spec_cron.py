"""EventBridge cron/rate/at: parsing, rejection, and next fire times (L, W, #, time zones, DST)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.model import Schedule
from orchestrator.spec.cron import (
    Cron,
    Rate,
    ScheduleError,
    check_timezone,
    next_fire_times,
    parse_expression,
)

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


def fires(expression: str, count: int = 3, *, zone: str = "UTC", after: datetime = JAN_1) -> list[str]:
    times = next_fire_times(Schedule(expression=expression, timezone=zone), count, after=after)
    return [t.isoformat() for t in times]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("cron(10 2 * * ? *)", ["2026-01-01T02:10:00+00:00", "2026-01-02T02:10:00+00:00", "2026-01-03T02:10:00+00:00"]),
        ("cron(0/20 9 * * ? *)", ["2026-01-01T09:00:00+00:00", "2026-01-01T09:20:00+00:00", "2026-01-01T09:40:00+00:00"]),
        ("cron(0 8 ? * MON-FRI *)", ["2026-01-01T08:00:00+00:00", "2026-01-02T08:00:00+00:00", "2026-01-05T08:00:00+00:00"]),
        ("cron(0 8 ? * 2,4 *)", ["2026-01-05T08:00:00+00:00", "2026-01-07T08:00:00+00:00", "2026-01-12T08:00:00+00:00"]),
        # L in day-of-month: the last day of each month.
        ("cron(0 0 L * ? *)", ["2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00"]),
        # 6L in day-of-week: the last Friday.
        ("cron(0 10 ? * 6L *)", ["2026-01-30T10:00:00+00:00", "2026-02-27T10:00:00+00:00", "2026-03-27T10:00:00+00:00"]),
        # 15W: the weekday nearest the 15th (Feb 15 2026 is a Sunday -> Monday 16th).
        ("cron(0 9 15W * ? *)", ["2026-01-15T09:00:00+00:00", "2026-02-16T09:00:00+00:00", "2026-03-16T09:00:00+00:00"]),
        # 1W never leaves the month: Aug 1 2026 is a Saturday -> Monday 3rd.
        ("cron(0 9 1W AUG ? 2026)", ["2026-08-03T09:00:00+00:00"]),
        # LW: the last weekday (Jan 31 2026 is a Saturday).
        ("cron(0 9 LW * ? *)", ["2026-01-30T09:00:00+00:00", "2026-02-27T09:00:00+00:00", "2026-03-31T09:00:00+00:00"]),
        # 3#2: the second Tuesday.
        ("cron(0 9 ? * TUE#2 *)", ["2026-01-13T09:00:00+00:00", "2026-02-10T09:00:00+00:00", "2026-03-10T09:00:00+00:00"]),
        ("cron(0 0 29 FEB ? *)", ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00", "2036-02-29T00:00:00+00:00"]),
        ("cron(30 12 1 JAN,jul ? 2026-2027)", ["2026-01-01T12:30:00+00:00", "2026-07-01T12:30:00+00:00", "2027-01-01T12:30:00+00:00"]),
        ("rate(5 minutes)", ["2026-01-01T00:05:00+00:00", "2026-01-01T00:10:00+00:00", "2026-01-01T00:15:00+00:00"]),
        ("rate(1 day)", ["2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00"]),
        ("at(2026-03-01T10:00:00)", ["2026-03-01T10:00:00+00:00"]),
        ("at(2025-03-01T10:00:00)", []),
    ],
)
def test_fire_times(expression: str, expected: list[str]) -> None:
    assert fires(expression, len(expected) or 1) == expected


def test_time_zone_is_the_schedules() -> None:
    assert fires("cron(10 2 * * ? *)", 1, zone="Europe/Berlin") == ["2026-01-01T02:10:00+01:00"]
    assert fires("at(2026-03-01T10:00:00)", zone="America/New_York") == ["2026-03-01T10:00:00-05:00"]


def test_spring_forward_skips_the_missing_hour() -> None:
    # Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29: 02:30 does not exist that day.
    after = datetime(2026, 3, 28, tzinfo=UTC)
    assert fires("cron(30 2 * * ? *)", zone="Europe/Berlin", after=after) == [
        "2026-03-28T02:30:00+01:00", "2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00",
    ]


def test_fall_back_fires_once() -> None:
    # 02:30 happens twice on 2026-10-25 in Berlin; EventBridge Scheduler runs it once.
    after = datetime(2026, 10, 24, tzinfo=UTC)
    assert fires("cron(30 2 * * ? *)", zone="Europe/Berlin", after=after) == [
        "2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00",
    ]


def test_hourly_across_fall_back_is_strictly_increasing() -> None:
    after = datetime(2026, 10, 25, 0, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    times = next_fire_times(Schedule(expression="cron(0 * * * ? *)", timezone="Europe/Berlin"), 5, after=after)
    assert [t.astimezone(UTC).hour for t in times] == [23, 0, 2, 3, 4]  # 02:00 local fires once
    assert times == sorted(times)


def test_naive_after_is_read_in_the_schedule_zone() -> None:
    times = next_fire_times(Schedule(expression="cron(0 9 * * ? *)", timezone="Asia/Tokyo"), 1,
                            after=datetime(2026, 1, 1, 8, 0))
    assert times[0].isoformat() == "2026-01-01T09:00:00+09:00"


def test_parsed_forms() -> None:
    cron = parse_expression("cron(0 8 ? * MON-FRI *)")
    assert isinstance(cron, Cron) and cron.weekdays == frozenset({2, 3, 4, 5, 6}) and cron.days is None
    assert parse_expression("rate(2 hours)") == Rate(2, "hour")


@pytest.mark.parametrize(
    ("expression", "message", "fix"),
    [
        ("cron(0 12 * * *)", "has 5 fields; EventBridge cron needs 6 (minutes hours day-of-month month "
         "day-of-week year); got 'cron(0 12 * * *)'", '"cron(0 12 * * ? *)"'),
        ("cron(0 12 1 * MON *)", "sets both day-of-month and day-of-week; EventBridge needs '?' in one of them; "
         "got 'cron(0 12 1 * MON *)'", '"cron(0 12 ? * MON *)"'),
        ("cron(0 12 ? * ? *)", "has '?' in both day-of-month and day-of-week; exactly one of them takes '?'; "
         "got 'cron(0 12 ? * ? *)'", '"cron(0 12 * * ? *)"'),
        ("cron(60 * * * ? *)", "has minutes 60 outside 0-59; got 'cron(60 * * * ? *)'", None),
        ("cron(0 0 0 * ? *)", "has day-of-month 0 outside 1-31; got 'cron(0 0 0 * ? *)'", None),
        ("cron(0 0 ? 13 MON *)", "has month 13 outside 1-12; got 'cron(0 0 ? 13 MON *)'", None),
        ("cron(0 0 ? FOO MON *)", "has 'FOO' in the month field, which is not a value (numbers or JAN-DEC); "
         "got 'cron(0 0 ? FOO MON *)'", None),
        ("cron(0 0 ? * MON/2 *)", "uses a step '/' in day-of-week, which EventBridge does not allow; "
         "got 'cron(0 0 ? * MON/2 *)'", None),
        ("cron(0 5-2 * * ? *)", "has the range '5-2' in the hours field running backwards; "
         "got 'cron(0 5-2 * * ? *)'", None),
        ("cron(0 0 1969 * ? *)", "has day-of-month 1969 outside 1-31; got 'cron(0 0 1969 * ? *)'", None),
        ("cron(0 0 * * ? 1969)", "has year 1969 outside 1970-2199; got 'cron(0 0 * * ? 1969)'", None),
        ("cron(0 0 L5 * ? *)", "has 'L5' in day-of-month; 'L' and 'W' stand alone ('L', 'LW', '15W'); "
         "got 'cron(0 0 L5 * ? *)'", None),
        ("cron(0 0 ? * 3#1,6#3 *)", "has '3#1,6#3' in day-of-week; a '#' expression stands alone (EventBridge "
         "reads '3#1,6#3' as two expressions); got 'cron(0 0 ? * 3#1,6#3 *)'", None),
        ("rate(1 minutes)", "says 'minutes' with 1; EventBridge wants 'minute' (singular only for 1); "
         "got 'rate(1 minutes)'", '"rate(1 minute)"'),
        ("rate(10 hour)", "says 'hour' with 10; EventBridge wants 'hours' (singular only for 1); "
         "got 'rate(10 hour)'", '"rate(10 hours)"'),
        ("rate(-5 minutes)", "needs a positive number; got 'rate(-5 minutes)'", '"rate(1 minute)"'),
        ("rate(1.5 hours)", "needs a whole number; got 'rate(1.5 hours)'", None),
        ("rate(5)", "needs a value and a unit, as in 'rate(5 minutes)'; got 'rate(5)'", '"rate(5 minutes)"'),
        ("rate(2 weeks)", "has unit 'weeks'; rate units are minute(s), hour(s) or day(s); got 'rate(2 weeks)'",
         '"rate(14 days)"'),
        ("at(2026-01-01)", "needs a timestamp yyyy-mm-ddThh:mm:ss (no zone: the schedule's timezone applies); "
         "got 'at(2026-01-01)'", '"at(2026-01-31T09:00:00)"'),
        ("every day", "is not a schedule expression; got 'every day'", None),
        ("cronn(0 1 * * ? *)", "has unknown kind 'cronn'; EventBridge schedules are cron(...), rate(...) or at(...); "
         "got 'cronn(0 1 * * ? *)'", '"cron(0 1 * * ? *)"'),
    ],
)
def test_rejected(expression: str, message: str, fix: str | None) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_expression(expression)
    assert str(caught.value) == message
    if fix is not None or not message.startswith("is not"):
        assert caught.value.fix == fix


def test_time_zone_suggestions() -> None:
    assert check_timezone("Europe/Berlin") is None
    assert check_timezone("UTC") is None
    assert check_timezone("europe/berlin") == "Europe/Berlin"
    assert check_timezone("America/NewYork") == "America/New_York"
    assert check_timezone("Mars/Olympus_Mons") == ""


def _field(values: st.SearchStrategy[int]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("*"),
        values.map(str),
        st.lists(values, min_size=1, max_size=3, unique=True).map(lambda v: ",".join(map(str, sorted(v)))),
        st.tuples(values, st.integers(1, 20)).map(lambda t: f"{t[0]}/{t[1]}"),
    )


@st.composite
def cron_expression(draw: st.DrawFn) -> str:
    minute = draw(_field(st.integers(0, 59)))
    hour = draw(_field(st.integers(0, 23)))
    if draw(st.booleans()):
        days = draw(st.one_of(_field(st.integers(1, 28)), st.sampled_from(["L", "LW", "15W", "1W"])))
        weekdays = "?"
    else:
        days = "?"
        weekdays = draw(st.one_of(st.just("*"), st.integers(1, 7).map(str), st.just("MON-FRI"),
                                  st.sampled_from(["6L", "2#1", "7#4"])))
    return f"cron({minute} {hour} {days} * {weekdays} *)"


@settings(max_examples=40, deadline=None)
@given(cron_expression(), st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1)))
def test_fire_times_match_a_minute_by_minute_scan(expression: str, start: datetime) -> None:
    cron = parse_expression(expression)
    assert isinstance(cron, Cron)
    after = start.replace(second=0, microsecond=0, tzinfo=UTC)
    expected: list[datetime] = []
    minute = after + timedelta(minutes=1)
    # Scan up to 70 days minute by minute, skipping days that do not match (still an independent walk).
    while len(expected) < 3 and minute < after + timedelta(days=70):
        if not cron.matches(minute.date()):
            minute = datetime.combine(minute.date() + timedelta(days=1), datetime.min.time(), UTC)
            continue
        if minute.hour in cron.hours and minute.minute in cron.minutes:
            expected.append(minute)
        minute += timedelta(minutes=1)
    got = next_fire_times(Schedule(expression=expression), 3, after)
    assert got[: len(expected)] == expected


def _transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """The UTC hours of ``year`` at which ``zone``'s offset changes."""
    found, t = [], datetime(year, 1, 1, tzinfo=UTC)
    while t.year == year:
        if t.astimezone(zone).utcoffset() != (t + timedelta(hours=1)).astimezone(zone).utcoffset():
            found.append(t)
        t += timedelta(hours=1)
    return found


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                       "America/Santiago"])
@pytest.mark.parametrize("expression", ["cron(*/15 * * * ? *)", "cron(0 * * * ? *)", "cron(30 1,2,3 * * ? *)",
                                        "cron(45 2 * * ? *)"])
def test_fire_times_across_daylight_saving_match_a_scan_of_real_minutes(zone_name: str, expression: str) -> None:
    """Walk real (UTC) minutes and read each on the zone's wall clock: a wall time that does not
    exist is never seen (skipped), and one seen twice counts at its first occurrence (fold 0)."""
    zone = ZoneInfo(zone_name)
    cron = parse_expression(expression)
    assert isinstance(cron, Cron)
    schedule = Schedule(expression=expression, timezone=zone_name)
    for change in _transitions(zone, 2026):
        for lead in (timedelta(hours=5), timedelta(minutes=50), timedelta(minutes=10), -timedelta(minutes=20)):
            after = change - lead
            expected: list[datetime] = []
            minute = after + timedelta(minutes=1)
            while len(expected) < 6 and minute < after + timedelta(days=3):
                wall = minute.astimezone(zone)
                if (wall.fold == 0 and cron.matches(wall.date()) and wall.hour in cron.hours
                        and wall.minute in cron.minutes):
                    expected.append(minute)
                minute += timedelta(minutes=1)
            got = [t.astimezone(UTC) for t in next_fire_times(schedule, 6, after)]
            assert expected and got[: len(expected)] == expected, (zone_name, expression, after)


def test_rate_counts_from_its_anchor_in_elapsed_time() -> None:
    from itertools import islice

    from orchestrator.spec.cron import fire_times

    anchor = datetime(2026, 3, 28, 12, 0, 30, tzinfo=UTC)
    daily = Schedule(expression="rate(1 day)", timezone="Europe/Berlin")
    # 24 hours each, so the Berlin wall time moves by the hour the clocks lost on 29 March.
    got = [t.isoformat() for t in islice(fire_times(daily, anchor, anchor=anchor, inclusive=True), 3)]
    assert got == ["2026-03-28T13:00:30+01:00", "2026-03-29T14:00:30+02:00", "2026-03-30T14:00:30+02:00"]
    later = next_fire_times(daily, 1, anchor + timedelta(days=1, seconds=1), anchor=anchor)
    assert later[0].astimezone(UTC) == anchor + timedelta(days=2)


def test_at_inside_the_spring_gap_never_fires() -> None:
    gap = Schedule(expression="at(2026-03-29T02:30:00)", timezone="Europe/Berlin")
    assert next_fire_times(gap, 1, datetime(2026, 1, 1, tzinfo=UTC)) == []
    repeat = Schedule(expression="at(2026-10-25T02:30:00)", timezone="Europe/Berlin")
    (once,) = next_fire_times(repeat, 2, datetime(2026, 1, 1, tzinfo=UTC))
    assert once.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
