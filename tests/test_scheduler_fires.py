"""One fire: its name, scheduled time, window offset; which missed fires catch-up starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from orchestrator import model
from orchestrator.scheduler.fires import catch_up, execution_name, scheduled_time, window_offset

T = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_names_fit_eighty_characters_and_differ_per_fire() -> None:
    assert execution_name("nightly", T) == "nightly-20260329T013000Z"
    long = "x" * 100
    assert len(execution_name(long, T)) == 80 and execution_name(long, T).endswith("-20260329T013000Z")
    assert execution_name(long, T) != execution_name(long, T + timedelta(minutes=1))
    assert scheduled_time(T.astimezone(ZoneInfo("Europe/Berlin"))) == "2026-03-29T01:30:00Z"


def test_window_offsets_spread_within_the_window_and_depend_on_the_expression() -> None:
    schedule = model.Schedule(expression="cron(0 * * * ? *)", flexible_window=10)
    offsets = {window_offset("w", schedule, T + timedelta(hours=h)) for h in range(200)}
    assert all(timedelta(0) <= o < timedelta(minutes=10) for o in offsets) and len(offsets) > 100
    other = model.Schedule(expression="cron(0 */1 * * ? *)", flexible_window=10)
    assert [window_offset("w", other, T + timedelta(hours=h)) for h in range(5)] != [
        window_offset("w", schedule, T + timedelta(hours=h)) for h in range(5)]
    assert window_offset("w", model.Schedule(expression="rate(1 hour)"), T) == timedelta(0)


def test_catch_up_policies() -> None:
    missed = [T - timedelta(hours=h) for h in (5, 4, 3, 2, 1)]
    now = T

    def pick(**kw: object) -> list[int]:
        schedule = model.Schedule(expression="rate(1 hour)", **kw)  # type: ignore[arg-type]
        return [int((now - t).total_seconds() // 3600) for t in catch_up(schedule, missed, now)]

    assert pick(catch_up="none") == []
    assert pick(catch_up="latest") == [1]
    assert pick(catch_up="all") == [5, 4, 3, 2, 1]
    assert pick(catch_up="all", catch_up_limit=2) == [2, 1]
    assert pick(catch_up="all", starting_deadline=3 * 3600) == [3, 2, 1]
    assert pick(catch_up="latest", starting_deadline=1800) == []


def test_the_schema_bounds_catch_up_limit_as_the_model_does() -> None:
    from orchestrator.spec import schema

    limit = schema()["properties"]["schedule"]["properties"]["catch_up_limit"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (
        1, model.CATCH_UP_LIMIT_MAX, model.CATCH_UP_LIMIT_DEFAULT)
