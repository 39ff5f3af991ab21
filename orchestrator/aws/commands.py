"""What the CLI's AWS commands do: deploy, start, executions list|show|history, redrive, console.

They mirror ``orchestrator.local.commands``: each takes already-parsed values, prints (JSON for
``show``/``history``/``list --json``, in the same shapes as the local commands) and returns the
exit code. Mistakes and AWS failures are raised as ``OrchestratorError`` for the CLI to print
without a traceback. A command given an ARN uses the ARN's region unless ``region`` is passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.aws import deploy as deploying
from orchestrator.aws import executions, links
from orchestrator.aws.errors import AwsError, aws_call
from orchestrator.aws.errors import client as make_client
from orchestrator.inputs import InputError, parse_execution_input  # noqa: F401

# How the hints printed below spell the commands; the CLI decides the real names.
CLI = "orchestrator aws"
_STYLE = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "cyan", "TIMED_OUT": "yellow", "ABORTED": "yellow",
          "PENDING_REDRIVE": "cyan", "created": "green", "updated": "cyan", "unchanged": "dim"}


def _console() -> Console:
    return Console(highlight=False)


def _line(console: Console, text: str) -> None:
    """A line holding an ARN or URL: printed whole, never wrapped, so it can be copied."""
    console.print(text, soft_wrap=True)


def _status(status: str) -> Text:
    return Text(status, style=_STYLE.get(status, ""))


def _region_of(arn: str, region: str | None) -> str | None:
    return region or (links.Arn.parse(arn).region if arn.startswith("arn:") else None)


def _state_machine_arn(sfn: Any, name_or_arn: str) -> str:
    """A state machine given by ARN, or by name in the client's region."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    with aws_call("ListStateMachines", f"state machine '{name_or_arn}'"):
        for page in sfn.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == name_or_arn:
                    return str(machine["stateMachineArn"])
    raise AwsError("find state machine", f"'{name_or_arn}'",
                   f"no state machine of that name in {sfn.meta.region_name}",
                   fix="check the name and --region, or deploy it: orchestrator deploy SPEC")


def deploy(path: str, role_arn: str, substitutions_file: str | None = None, region: str | None = None) -> int:
    """``deploy SPEC --role-arn ROLE [--substitutions FILE] [--region R]``: compile every workflow
    of SPEC and create or update its state machines (unchanged ones are left alone)."""
    from orchestrator.compiler import compile_workflow
    from orchestrator.spec import load_all

    workflows = load_all(path)
    substitutions = {} if substitutions_file is None else deploying.load_substitutions(substitutions_file)
    results = [compile_workflow(wf) for wf in workflows]
    for result in results:  # every problem before the first AWS call
        deploying.check_substitutions(result, substitutions)
    sfn = make_client("stepfunctions", region)
    console = _console()
    for result in results:
        console.print(Text(f"workflow {result.main}", style="bold"))
        width = max(len(name) for name in result.definitions)
        # One line per machine as it is deployed (children first), never wrapped: ARNs and URLs
        # are copied from here.
        def show(d: deploying.Deployed, width: int = width) -> None:
            line = Text(f"  {d.name:<{width}}  ")
            line.append_text(_status(f"{d.action:<9}"))
            line.append(f"  {d.arn}")
            if d.alias_arn is not None and d.version_arn is not None:
                line.append(f"  {deploying.ALIAS} -> version {d.version_arn.rsplit(':', 1)[-1]}")
            console.print(line, soft_wrap=True)

        done = deploying.deploy(result, role_arn=role_arn, substitutions=substitutions, client=sfn,
                                on_deployed=show)
        main = next(d.arn for d in done if d.name == result.main)
        _line(console, f"  console: {links.state_machine_url(main)}")
        _line(console, f"  start: {CLI} start {main}")
    return 0


def start(path_or_arn: str, input_json: str | None = None, region: str | None = None, *,
          wait: bool = False, poll: float = 5.0) -> int:
    """``start SPEC|NAME|ARN [--input JSON]``: start an execution of a deployed state machine (a
    spec file names its workflows' main machines). With ``wait``, follow it to the end and exit 0
    only if it SUCCEEDED."""
    payload = parse_execution_input(input_json)
    if path_or_arn.startswith("arn:"):
        targets = [path_or_arn]
    elif Path(path_or_arn).is_file() or Path(path_or_arn).suffix in (".py", ".yaml", ".yml", ".json"):
        from orchestrator.spec import load_all

        targets = [wf.name for wf in load_all(path_or_arn)]
    else:
        targets = [path_or_arn]
    sfn = make_client("stepfunctions", _region_of(path_or_arn, region))
    console = _console()
    failed = 0
    for target in targets:
        arn = _state_machine_arn(sfn, target)
        started = executions.start(arn, payload, client=sfn)
        execution_arn = started["executionArn"]
        console.print(Text(f"started {execution_arn.rsplit(':', 1)[-1]}", style="bold"), soft_wrap=True)
        _line(console, f"  execution: {execution_arn}")
        _line(console, f"  console: {links.execution_url(execution_arn)}")
        _line(console, f"  show: {CLI} executions show {execution_arn}")
        if wait:
            described = executions.wait(execution_arn, poll, client=sfn)
            line = Text("  status: ")
            line.append_text(_status(described["status"]))
            console.print(line)
            failed += described["status"] != "SUCCEEDED"
            if described["status"] != "SUCCEEDED":
                _line(console, f"  resume: {CLI} redrive {execution_arn}")
    return 1 if failed else 0


def executions_list(state_machine: str, json_output: bool = False, region: str | None = None, *,
                    status: str | None = None, limit: int | None = None) -> int:
    """``executions list STATE_MACHINE [--json] [--status S] [--limit N]``: its executions, newest
    first; STATE_MACHINE is a name (in ``region``) or an ARN."""
    sfn = make_client("stepfunctions", _region_of(state_machine, region))
    arn = _state_machine_arn(sfn, state_machine)
    rows = executions.list_executions(arn, status=status, limit=limit, client=sfn)
    if json_output:
        print(json.dumps({"executions": rows}, indent=2))
        return 0
    console = _console()
    if not rows:
        _line(console, f"No executions of {arn}. Start one: {CLI} start {arn}")
        return 0
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started UTC", no_wrap=True)
    table.add_column("redrives", no_wrap=True, justify="right")
    for row in rows:
        table.add_row(row["name"], _status(row["status"]), (row["startDate"] or "")[5:19].replace("T", " "),
                      str(row.get("redriveCount") or ""))
    console.print(table)
    return 0


def executions_show(arn: str, region: str | None = None) -> int:
    """``executions show EXECUTION_ARN``: DescribeExecution's fields, as ``executions show`` prints
    them for a local run."""
    print(json.dumps(executions.describe(arn, region=_region_of(arn, region)), indent=2))
    return 0


def executions_history(arn: str, region: str | None = None) -> int:
    """``executions history EXECUTION_ARN``: every event, as GetExecutionHistory returns them."""
    print(json.dumps({"events": executions.history(arn, region=_region_of(arn, region))}, indent=2))
    return 0


def redrive(arn: str, region: str | None = None) -> int:
    """``redrive EXECUTION_ARN``: restart a failed execution from where it failed (on AWS, tasks
    that succeeded are not run again)."""
    answer = executions.redrive(arn, region=_region_of(arn, region))
    console = _console()
    console.print(Text(f"redriven {arn.rsplit(':', 1)[-1]} at {answer['redriveDate']}", style="bold"))
    _line(console, f"  console: {links.execution_url(arn)}")
    _line(console, f"  show: {CLI} executions show {arn}")
    return 0


def console(arn: str) -> int:
    """``console ARN``: print the AWS console URL of a state machine, execution, Batch job, Lambda
    function or log group."""
    print(links.console_url(arn))
    return 0


def logs(arn: str, task: str | None = None, region: str | None = None, *, follow: bool = False) -> int:
    """``logs EXECUTION_ARN [TASK] [--follow]``: the CloudWatch Logs of its Batch jobs and Lambda
    invocations, one section per stream as the local ``orchestrator logs`` prints them."""
    from orchestrator.aws import logs as cloudwatch

    console = _console()
    return cloudwatch.print_logs(
        arn, task, follow=follow, region=_region_of(arn, region),
        write=lambda text: console.out(text, end="", highlight=False),
        rule=lambda title: console.rule(Text(title, style="bold")),
    )
