"""``orchestrator cost``: the arithmetic of each service, the schedule's fires a month, what is
left out and why, and the line in ``compile --report``."""

from __future__ import annotations

import doctest

import pytest

from orchestrator import cost, model
from orchestrator.cli import main
from orchestrator.compiler import compile_workflow


def batch(name: str, seconds: float | None, *, vcpus: float = 1.0, memory: int = 2048,
          array_size: int | None = None, platform: model.Platform = model.Platform.FARGATE,
          after: tuple[str, ...] = ()) -> model.Task:
    return model.Task(name=name, after=after, expected_duration=seconds, job=model.BatchJob(
        image="x", vcpus=vcpus, memory=memory, array_size=array_size, platform=platform))


def lam(name: str, seconds: float | None, memory: int = 512, after: tuple[str, ...] = ()) -> model.Task:
    return model.Task(name=name, after=after, expected_duration=seconds,
                      job=model.LambdaTask(handler="m:f", memory=memory))


def test_each_service_from_durations_and_sizes() -> None:
    wf = model.Workflow(name="w", notify=model.Notify(email=("a@example.com", "b@example.com")),
                        tasks=(batch("load", 600), lam("check", 10, after=("load",))))
    found = cost.estimate(wf)
    assert (found.batch_vcpu_seconds, found.batch_gb_seconds) == (600, 1200)
    assert (found.lambda_gb_seconds, found.lambda_requests) == (5.0, 1)
    assert found.transitions == compile_workflow(wf).report.transitions
    assert found.batch_on_demand == pytest.approx(600 * 0.04048 / 3600 + 1200 * 0.004445 / 3600)
    assert found.batch_spot == pytest.approx(found.batch_on_demand * 0.3)
    assert found.lambda_ == pytest.approx(5.0 * 0.0000166667 + 0.0000002)
    assert found.step_functions == pytest.approx(found.transitions * 0.000025)
    assert found.alert == pytest.approx(0.0000005 + 2 * 0.00002)
    assert found.per_run_on_demand == pytest.approx(
        found.step_functions + found.batch_on_demand + found.lambda_ + found.logs)
    assert found.runs_per_month is None and found.left_out == ()


def test_fargate_bills_a_minute_at_least_and_each_array_child() -> None:
    found = cost.estimate(model.Workflow(name="w", tasks=(batch("short", 5), batch("fan", 120, array_size=10,
                                                                                 vcpus=0.25, memory=512))))
    assert found.batch_vcpu_seconds == 60 + 0.25 * 120 * 10
    assert found.batch_gb_seconds == 2 * 60 + 0.5 * 120 * 10


def test_tasks_that_cannot_be_priced_are_named() -> None:
    wf = model.Workflow(name="w", tasks=(batch("a", None), batch("b", 60, platform=model.Platform.EC2, memory=2048),
                                         lam("c", 1)))
    found = cost.estimate(wf)
    assert found.left_out == (("a", "no expected_duration"), ("b", "runs on EC2, priced by its instances"))
    assert found.batch_vcpu_seconds == 0


@pytest.mark.parametrize(("expression", "timezone", "runs"), [
    ("cron(0 6 * * ? *)", "UTC", 365 / 12),
    ("cron(10 2 * * ? *)", "Europe/Berlin", 364 / 12),  # 02:10 does not exist on 2025-03-30 there
    ("cron(30 3 ? * MON-SAT *)", "UTC", 313 / 12),
    ("rate(1 hour)", "UTC", 8760 / 12),
])
def test_runs_a_month_over_a_calendar_year(expression: str, timezone: str, runs: float) -> None:
    assert cost.runs_per_month(model.Schedule(expression=expression, timezone=timezone)) == pytest.approx(runs)


def test_a_schedule_firing_more_often_than_is_counted_is_scaled() -> None:
    minutely = cost.runs_per_month(model.Schedule(expression="rate(1 minute)"))
    assert minutely == pytest.approx(525_600 / 12, rel=1e-4)


def test_cost_command_prints_the_table_and_what_is_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "state_machines/disk_hygiene.yaml"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "disk-hygiene: cost estimate in USD, us-east-1 list prices of 2026-03 (before free tiers)"
    assert lines[1] == "runs a month: 26.1"
    assert [line for line in lines if line.startswith("left out")] == [
        "left out: task 'verify' (no expected_duration)",
        "left out: task 'usage-report' (no expected_duration)",
        "left out: task 'prune' (no expected_duration)",
    ]
    assert any(line.startswith("total with Batch on Fargate Spot ") for line in lines)


def test_compile_report_ends_with_the_cost_line(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", "state_machines/nightly_sales.py", "--out", str(tmp_path), "--report"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("cost: $0.00831 a run on Fargate Spot, $0.02703 on-demand; ")
    assert last.endswith("a month at 30.3 runs (us-east-1 prices of 2026-03)")


def test_doctests() -> None:
    assert doctest.testmod(cost).failed == 0
