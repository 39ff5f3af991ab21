"""The semantic checks' quick paths for the usual values decide as the general paths do.

A value of a subclass of ``int`` or ``float`` is not the plain type the quick paths look for, so
it goes the general way: the same value both ways must give the same result and the same issues.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from orchestrator.spec import checks
from orchestrator.spec.issues import Issue


class _Int(int):
    pass


class _Float(float):
    pass


def _general(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return _Int(value) if isinstance(value, int) else _Float(value)


NUMBERS = [0, 1, 59, 60, 3600, 2**63 - 1, 2**63, -1, 0.0, -0.0, 0.5, 1.0, 1.5, 59.99, 1e300, -2.5,
           math.inf, -math.inf, math.nan, 10**30]


def _run(check: Any, value: Any, **options: Any) -> tuple[Any, list[Issue]]:
    ctx = checks.Context({"name": "w", "tasks": []})
    result = check(ctx, ("tasks", 0, "timeout"), value, **options)
    return result, ctx.issues


@pytest.mark.parametrize("value", NUMBERS)
@pytest.mark.parametrize("options", [{}, {"allow_zero": True, "whole": False}, {"whole": False}])
def test_plain_numbers_are_durations_as_the_general_path_says(value: Any, options: dict[str, Any]) -> None:
    quick, quick_issues = _run(checks.check_duration, value, **options)
    general, general_issues = _run(checks.check_duration, _general(value), **options)
    assert quick_issues == general_issues
    assert quick == general or (quick is None and general is None)
    assert type(quick) is type(general)


@pytest.mark.parametrize("value", [*NUMBERS, True, None, "2", [1]])
def test_numbers_read_for_sizes_as_the_general_path_says(value: Any) -> None:
    quick, general = checks._number(value), checks._number(_general(value))
    assert quick == general or (quick is None and general is None) or (math.isnan(quick) and math.isnan(general))


def _dependency_issues(tasks: list[dict[str, Any]]) -> list[tuple[Any, str, str | None]]:
    ctx = checks.Context({"name": "w", "tasks": tasks})
    checks.check_dependencies(ctx)
    return [(issue.path, issue.message, issue.fix) for issue in ctx.issues]


def test_dependencies_decided_at_once_still_find_cycles_through_repeated_names() -> None:
    # Each "after" here is names only, each once, none its own: taken whole. The second "b" is a
    # repeat, whose edges the graph leaves out (its name is reported by check_task_names).
    tasks = [{"name": "a", "after": ["b"]}, {"name": "b", "after": ["c"]}, {"name": "c", "after": ["a"]},
             {"name": "b", "after": ["a", "c"]}, {"name": "d", "after": ["a", "b", "c"]}]
    assert _dependency_issues(tasks) == [
        (("tasks", 0, "after"), "dependency cycle: a -> b -> c -> a (each task runs after the next, so none can "
         "start)", "remove 'b' from the after of 'a'")]
    assert _dependency_issues([{"name": "a"}, {"name": "b", "after": ["a"]}]) == []


def test_the_cycle_search_runs_only_when_a_task_runs_after_a_later_one(monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[int] = []
    real = checks._cycles

    def spy(graph: dict[str, list[str]], order: list[str]) -> list[list[str]]:
        searched.append(len(graph))
        return real(graph, order)

    monkeypatch.setattr(checks, "_cycles", spy)
    in_order = [{"name": "a"}, {"name": "b", "after": ["a"]}, {"name": "c", "after": ["a", "b"]}]
    assert _dependency_issues(in_order) == [] and searched == []
    assert _dependency_issues([{"name": "b", "after": ["a"]}, {"name": "a"}]) == [] and searched == [2]
    assert _dependency_issues([{"name": "a", "after": ["b"]}, {"name": "b", "after": ["a"]}]) == [
        (("tasks", 0, "after"), "dependency cycle: a -> b -> a (each task runs after the next, so none can start)",
         "remove 'b' from the after of 'a'")]
