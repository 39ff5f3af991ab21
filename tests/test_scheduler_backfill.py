"""orchestrator backfill: one execution per fire, named from it, here and on AWS (moto); a
second run starts nothing new."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_fixtures import fake_credentials  # noqa: F401

from orchestrator import model
from orchestrator.cli import main
from orchestrator.local.store import Store
from orchestrator.scheduler.backfill import (
    BACKFILL_MAX_FIRES,
    BackfillError,
    backfill,
    parse_time,
    range_fires,
)

DAY1, DAY4 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
SPEC = """name: nightly
schedule: {expression: "cron(0 2 * * ? *)", timezone: Europe/Berlin}
tasks:
  - name: load
    batch: {image: "alpine:3", command: [sh, -c, "echo loaded"]}
"""


def nightly(expression: str = "cron(0 2 * * ? *)", **kw: Any) -> model.Workflow:
    return model.Workflow(name="nightly", schedule=model.Schedule(expression=expression, timezone="Europe/Berlin",
                                                                  **kw),
                          tasks=(model.Task(name="load", job=model.BatchJob(image="alpine:3",
                                                                           command=("sh", "-c", "echo loaded"))),))


@pytest.fixture(autouse=True)
def on_the_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORCHESTRATOR_CONTAINERS", "never")
    monkeypatch.chdir(tmp_path)


def test_range_fires_in_the_workflows_zone_end_excluded() -> None:
    fires = range_fires(nightly().schedule, DAY1, DAY4)  # type: ignore[arg-type]
    assert [t.isoformat() for t in fires] == ["2026-03-01T02:00:00+01:00", "2026-03-02T02:00:00+01:00",
                                              "2026-03-03T02:00:00+01:00"]
    rate = range_fires(model.Schedule(expression="rate(12 hours)"), DAY1, datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert [t.isoformat() for t in rate] == ["2026-03-01T00:00:00+00:00", "2026-03-01T12:00:00+00:00",
                                             "2026-03-02T00:00:00+00:00"]


def test_local_backfill_starts_each_fire_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    seen: list[str] = []
    outcomes = backfill(nightly(), DAY1, DAY4, max_parallel=2, home=home, notice=lambda o: seen.append(o.name))
    assert [(o.name, o.action, o.status) for o in outcomes] == [
        (f"nightly-2026030{d}T010000Z", "started", "SUCCEEDED") for d in (1, 2, 3)]
    assert sorted(seen) == [o.name for o in outcomes]
    rows = sorted(Store(home).executions(), key=lambda r: r.name)
    assert [(r.name, r.input, r.status) for r in rows] == [
        (f"nightly-2026030{d}T010000Z", {"scheduled_time": f"2026-03-0{d}T01:00:00Z"}, "SUCCEEDED") for d in (1, 2, 3)]
    again = backfill(nightly(), DAY1, datetime(2026, 3, 5, tzinfo=UTC), home=home)
    assert [(o.action, o.status) for o in again] == [("exists", "SUCCEEDED")] * 3 + [("started", "SUCCEEDED")]
    assert len(Store(home).executions()) == 4


def test_backfill_command_prints_each_fire_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATOR_HOME", str(tmp_path / "home"))
    (tmp_path / "nightly.yaml").write_text(SPEC)
    args = ["backfill", "nightly.yaml", "--start", "2026-03-01", "--end", "2026-03-03"]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == [
        "started nightly-20260301T010000Z SUCCEEDED", "started nightly-20260302T010000Z SUCCEEDED",
        "backfill nightly: 2 fire(s) from 2026-02-28T23:00:00Z to 2026-03-02T23:00:00Z: 2 started, 0 already there"]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(": 0 started, 2 already there")


@pytest.mark.parametrize(("call", "message"), [
    (lambda: backfill(model.Workflow(name="adhoc", tasks=nightly().tasks), DAY1, DAY4),
     "workflow 'adhoc' has no schedule, so it has no fire times to backfill; give it one, e.g. "
     'schedule: "cron(0 2 * * ? *)"'),
    (lambda: backfill(nightly(), DAY4, DAY1),
     "--end 2026-03-01T00:00:00+00:00 is not after --start 2026-03-04T00:00:00+00:00; the range runs from --start "
     "up to, not including, --end"),
    (lambda: backfill(nightly(), DAY1, DAY4, max_parallel=0), "--max-parallel must be at least 1; got 0"),
    (lambda: backfill(nightly("rate(1 minute)"), DAY1, datetime(2026, 3, 11, tzinfo=UTC)),
     f"2026-03-01T00:00:00+00:00 to 2026-03-11T00:00:00+00:00 holds more than {BACKFILL_MAX_FIRES} fires of "
     "rate(1 minute); backfill it in parts (each part can be rerun safely), e.g. a month at a time"),
    (lambda: parse_time("yesterday", "--start", "Europe/Berlin"),
     "--start 'yesterday' is not an ISO-8601 date or time; e.g. --start 2026-03-01 or --start 2026-03-01T02:00:00Z "
     "(without an offset: in the workflow's time zone Europe/Berlin)"),
])
def test_bad_backfills_say_what_to_do(call: Any, message: str) -> None:
    with pytest.raises(BackfillError) as caught:
        call()
    assert str(caught.value) == message


def test_backfill_cli_error_is_printed_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nightly.yaml").write_text(SPEC)
    assert main(["backfill", "nightly.yaml", "--start", "soon", "--end", "2026-03-03"]) == 1
    assert capsys.readouterr().err.startswith("error: --start 'soon' is not an ISO-8601 date or time")


# -- on AWS (moto) -------------------------------------------------------------------------------
def machine(sfn: Any) -> str:
    import boto3

    role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    return str(sfn.create_state_machine(name="nightly", definition=json.dumps(definition),
                                        roleArn=role)["stateMachineArn"])


def test_aws_backfill_names_each_fire_and_does_not_repeat() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sfn = boto3.client("stepfunctions")
        arn = machine(sfn)
        outcomes = backfill(nightly(), DAY1, DAY4, target="aws", max_parallel=5)
        assert [(o.name, o.action) for o in outcomes] == [(f"nightly-2026030{d}T010000Z", "started") for d in (1, 2, 3)]
        listed = sfn.list_executions(stateMachineArn=arn)["executions"]
        assert sorted(e["name"] for e in listed) == [o.name for o in outcomes]
        one = sfn.describe_execution(executionArn=listed[0]["executionArn"])
        assert json.loads(one["input"]) == {"scheduled_time": f"2026-03-0{one['name'][15]}T01:00:00Z"}
        again = backfill(nightly(), DAY1, DAY4, target="aws")
        assert [o.action for o in again] == ["exists"] * 3
        assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 3


def test_aws_backfill_keeps_at_most_max_parallel_running() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sfn = boto3.client("stepfunctions")
        arn = machine(sfn)
        peaks: list[int] = []

        def sleep(seconds: float) -> None:  # a slot is waited for: let the oldest run finish
            running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
            peaks.append(len(running))
            sfn.stop_execution(executionArn=sorted(running, key=lambda e: e["name"])[0]["executionArn"])

        outcomes = backfill(nightly(), DAY1, DAY4, target="aws", max_parallel=2, client=sfn, sleep=sleep)
        assert [o.action for o in outcomes] == ["started"] * 3
        assert peaks == [2]


def test_backfill_command_on_aws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3
    from moto import mock_aws

    (tmp_path / "nightly.yaml").write_text(SPEC)
    with mock_aws():
        machine(boto3.client("stepfunctions"))
        args = ["backfill", "nightly.yaml", "--start", "2026-03-01", "--end", "2026-03-03", "--target", "aws",
                "--max-parallel", "5"]
        assert main(args) == 0
        assert capsys.readouterr().out.splitlines() == [
            "started nightly-20260301T010000Z RUNNING", "started nightly-20260302T010000Z RUNNING",
            "backfill nightly: 2 fire(s) from 2026-02-28T23:00:00Z to 2026-03-02T23:00:00Z: 2 started, 0 already there"]
        assert main(args) == 0
        assert capsys.readouterr().out.splitlines()[-1].endswith(": 0 started, 2 already there")
