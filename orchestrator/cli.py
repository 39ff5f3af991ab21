"""The ``orchestrator`` command. It only wires: each command calls one function elsewhere.

Bad input never shows a traceback: every ``OrchestratorError`` is printed with its location and
fix, and the command exits 1. Anything else escaping is a bug in this package and keeps its
traceback so it can be reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError

Handler = Callable[[argparse.Namespace], int]


def _print_error(error: OrchestratorError) -> None:
    problems = getattr(error, "problems", None)
    if problems:
        from orchestrator.limits import PROBLEMS_SHOWN_MAX

        count = len(problems)
        print(f"error: {count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        for problem in problems[:PROBLEMS_SHOWN_MAX]:
            print(problem.render(), file=sys.stderr)
        if count > PROBLEMS_SHOWN_MAX:
            # A generated spec can have thousands; the first ones usually show the pattern.
            print(f"... and {count - PROBLEMS_SHOWN_MAX} more (the first {PROBLEMS_SHOWN_MAX} are shown); "
                  "fix these and validate again", file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr)


# -- define / validate -------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from orchestrator.errors import DefinitionError, ValidationError
    from orchestrator.local.plain import DefinitionFileError, check_definition_file
    from orchestrator.spec import load_all
    from orchestrator.spec.discover import expand, load_found

    failed = 0
    for path, found in expand(args.paths):
        try:
            checked = check_definition_file(path)  # a plain *.asl.json state machine, else None
            if checked is not None:
                print(f"ok: {path}: {checked}")
                continue
            workflows = load_found(path) if found else load_all(path)
        except (ValidationError, DefinitionError, DefinitionFileError) as error:
            failed += 1
            _print_error(error)
            continue
        for wf in workflows:
            print(f"ok: {path}: workflow '{wf.name}' ({len(wf.tasks)} tasks)")
        if not workflows:
            print(f"skipped: {path}: defines no workflow")
    return 1 if failed else 0


def _load_one(path: str, name: str | None) -> Any:
    from orchestrator.spec import select

    return select(path, name)


def cmd_show(args: argparse.Namespace) -> int:
    from orchestrator.spec import next_fire_times, to_dict

    wf = _load_one(args.path, args.workflow)
    if args.json:
        print(json.dumps(to_dict(wf), indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{wf.name}[/bold]" + (f" — {wf.description}" if wf.description else ""))
    table = Table("task", "runs on", "after", "timeout", "retries", "expected")
    for task in wf.tasks:
        table.add_row(
            task.name,
            task.runs_on,
            ", ".join(task.after) or "-",
            f"{task.timeout}s" if task.timeout is not None else "-",
            str(task.retry.attempts) if task.retry is not None else "-",
            f"{task.expected_duration:g}s" if task.expected_duration is not None else "-",
        )
    console.print(table)
    if wf.schedule is None:
        console.print("schedule: none (run on demand)")
    else:
        console.print(f"schedule: {wf.schedule.expression} ({wf.schedule.timezone})")
        for when in next_fire_times(wf.schedule, count=5, after=datetime.now(UTC)):
            console.print(f"  next: {when.isoformat()}")
    from orchestrator.inputs import parse_execution_input
    from orchestrator.preview import next_run_lines

    for line in next_run_lines(wf, datetime.now(UTC), parse_execution_input(args.input)):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if wf.notify is not None:
        targets = [*wf.notify.email, *([wf.notify.topic_arn] if wf.notify.topic_arn else []),
                   *([wf.notify.webhook] if wf.notify.webhook else [])]
        console.print("alerts to: " + ", ".join(targets))
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from orchestrator.scaffold import scaffold

    for written in scaffold(Path(args.dir), name=args.name):
        print(f"wrote {written}")
    print(f"next: cd {args.dir} && orchestrator run workflow.py")
    return 0


# -- compile -----------------------------------------------------------------------------------
def cmd_compile(args: argparse.Namespace) -> int:
    from orchestrator.asl_files import compile_command

    return compile_command(args.specs, args.out, check=args.check, report=args.report,
                           warn=lambda line: print(line, file=sys.stderr))


def cmd_graph(args: argparse.Namespace) -> int:
    from orchestrator.compiler.graph import render_compiled, render_dag

    wf = _load_one(args.spec, args.workflow)
    render = render_compiled if args.compiled else render_dag
    print(render(wf, fmt=args.format))
    return 0


# -- run and inspect ---------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from orchestrator.local import commands

    _containers(args)
    return commands.run(args.path, args.input, args.mock_config, args.test_case,
                        workflow=args.workflow, aws_endpoint=args.aws_endpoint,
                        scheduled_time=args.scheduled_time)


def _containers(args: argparse.Namespace) -> None:
    # The flag and the environment variable are one setting; the flag wins (see local.images).
    if getattr(args, "containers", None):
        from orchestrator.local.images import CONTAINERS_ENV

        os.environ[CONTAINERS_ENV] = args.containers


def cmd_executions(args: argparse.Namespace) -> int:
    from orchestrator.local import commands

    if args.action == "list":
        return commands.executions_list(args.json)
    if args.action == "show":
        return commands.executions_show(args.execution)
    return commands.executions_history(args.execution)


def cmd_logs(args: argparse.Namespace) -> int:
    from orchestrator.local import commands

    return commands.logs(args.execution, args.task)


def cmd_redrive(args: argparse.Namespace) -> int:
    from orchestrator.local import commands

    return commands.redrive(args.execution)


def cmd_messages(args: argparse.Namespace) -> int:
    from orchestrator.local import commands

    return commands.redeliver_messages(include_failed=args.failed)


# -- schedules ---------------------------------------------------------------------------------
def cmd_schedules(args: argparse.Namespace) -> int:
    from orchestrator.scheduler import commands

    if args.action in ("pause", "resume"):
        return commands.schedules_pause(args.workflow, args.action == "pause")
    return commands.schedules_list(json_output=args.json, count=args.count)


def cmd_backfill(args: argparse.Namespace) -> int:
    from orchestrator.scheduler import commands

    return commands.backfill_command(args.path, args.workflow, args.start, args.end, max_parallel=args.max_parallel,
                                     target=args.target, region=args.region)


def cmd_serve(args: argparse.Namespace) -> int:
    from orchestrator.server.serve import serve

    return serve(args.paths, host=args.host, port=args.port, access_key_id=args.access_key_id,
                 secret_access_key=args.secret_access_key, mock_config=args.mock_config)


# -- AWS -------------------------------------------------------------------------------------------
def cmd_cost(args: argparse.Namespace) -> int:
    from orchestrator.cost import command

    return command(args.path)


def cmd_synth(args: argparse.Namespace) -> int:
    from orchestrator.cdk import commands

    return commands.synth(args.paths, args.out, args.context)


def cmd_deploy(args: argparse.Namespace) -> int:
    from orchestrator.cdk import commands

    return commands.deploy(args.paths, state_machine_only=args.state_machine_only, role_arn=args.role_arn,
                           substitutions=args.substitutions, region=args.region, context=args.context,
                           yes=args.yes)


def cmd_diff(args: argparse.Namespace) -> int:
    from orchestrator.cdk import commands

    return commands.diff(args.paths, args.context)


def cmd_destroy(args: argparse.Namespace) -> int:
    from orchestrator.cdk import commands

    return commands.destroy(args.paths, args.context, force=args.force)


def cmd_aws(args: argparse.Namespace) -> int:
    from orchestrator.aws import commands

    if args.action == "start":
        return commands.start(args.target, args.input, args.region, wait=args.wait)
    if args.action == "executions":
        if args.what == "list":
            return commands.executions_list(args.state_machine, args.json, args.region,
                                            status=args.status, limit=args.limit)
        if args.what == "show":
            return commands.executions_show(args.arn, args.region)
        return commands.executions_history(args.arn, args.region)
    if args.action == "redrive":
        return commands.redrive(args.arn, args.region)
    if args.action == "logs":
        return commands.logs(args.arn, args.task, args.region, follow=args.follow)
    return commands.console(args.arn)


class _NotBuilt(argparse.ArgumentParser):
    """Stands in for the parser of a command that is not the one being run, taking its arguments
    without building them: each of the 35 parsers costs argparse a few gettext lookups, stats of
    translation files included, and all of them took 8 ms of every command."""

    def __init__(self) -> None:  # no state: nothing is parsed with it
        pass

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def add_subparsers(self, **kwargs: Any) -> Any:
        return self

    def add_parser(self, *args: Any, **kwargs: Any) -> _NotBuilt:
        return self


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``orchestrator`` parser; with ``only``, just that command's (what ``main`` parses with
    when the command line starts with it), or every command when ``only`` names none."""
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Job DAGs compiled to AWS Step Functions, run on Batch and Lambda — "
        "or offline on this machine (the default).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return _NotBuilt()
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command("validate", cmd_validate, "Check workflow files and report every problem with its location.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a .py, .yaml or .json workflow file, a *.asl.json, or a directory of them")

    p = command("show", cmd_show, "Show a workflow's tasks, dependencies and next 5 scheduled runs.")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print the workflow as a spec document")
    p.add_argument("--input", default=None, metavar="JSON", help="input fields templates read (JSON or @file)")
    p.add_argument("--workflow", metavar="NAME", help="which workflow, when the file defines several")

    p = command("init", cmd_init, "Create a new project: a workflow, a Lambda handler and a test.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--name", default=None, help="workflow name (default: the directory name)")

    p = command("compile", cmd_compile, "Compile workflows to Amazon States Language files.")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="a workflow file, or a directory of them")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for <name>.asl.json files")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 naming each file in DIR that is missing or differs")
    p.add_argument("--report", action="store_true",
                   help="print states, transitions, history events, size and cost per run")

    p = command("graph", cmd_graph, "Print the DAG (or the compiled structure) as Mermaid or Graphviz dot.")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    p.add_argument("--compiled", action="store_true", help="draw the compiled state machine structure")
    p.add_argument("--workflow", metavar="NAME")

    p = command("run", cmd_run, "Validate, compile and run a workflow (or plain ASL) on this machine (no AWS needed).")
    p.add_argument("path", metavar="PATH", help="a .py, .yaml or .json workflow file, or a *.asl.json state machine")
    p.add_argument("--input", default=None, metavar="JSON",
                   help="execution input: JSON text, or @file.json to read it from a file")
    p.add_argument("--mock-config", default=None, metavar="FILE",
                   help="a Step Functions Local MockConfigFile (JSON; default $SFN_MOCK_CONFIG)")
    p.add_argument("--test-case", default=None, metavar="NAME", help="test case in the mock config")
    p.add_argument("--aws-endpoint", default=None, metavar="URL",
                   help="plain ASL: send unmocked aws-sdk:*, sqs, sns, events, dynamodb calls there (e.g. moto)")
    p.add_argument("--workflow", metavar="NAME", help="which workflow, when the file defines several")
    p.add_argument("--containers", choices=("auto", "always", "never"), default=None,
                   help="Batch jobs in their containers: auto (default; when the engine answers and the image "
                        "can be had), always, never (ORCHESTRATOR_CONTAINERS)")
    p.add_argument("--scheduled-time", default=None, metavar="T",
                   help="the run's logical time, ISO-8601 with a zone (default: now)")

    p = command("executions", cmd_executions, "List and inspect local executions.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("list", help="executions, newest first")
    q.add_argument("--json", action="store_true", help="print ListExecutions-shaped JSON")
    for action, text in (("show", "one execution's status, input and output"),
                         ("history", "one execution's history events")):
        q = actions.add_parser(action, help=text)
        q.add_argument("execution", metavar="EXECUTION", help="ARN, name or unique prefix")

    p = command("logs", cmd_logs, "Print the logs of an execution's jobs and functions.")
    p.add_argument("execution", metavar="EXECUTION")
    p.add_argument("task", nargs="?", default=None, metavar="TASK")

    p = command("redrive", cmd_redrive,
                "Finish a failed or interrupted execution; completed tasks are not run again.")
    p.add_argument("execution", metavar="EXECUTION")
    p = command("schedules", cmd_schedules,
                "List the schedules `serve` fires (next fires, last fire, status); pause or resume one.")
    p.add_argument("action", nargs="?", choices=("list", "pause", "resume"), default="list")
    p.add_argument("workflow", nargs="?", metavar="WORKFLOW", help="the workflow to pause or resume")
    p.add_argument("--json", action="store_true")
    p.add_argument("--count", type=int, default=3, metavar="N", help="next fires to show (default 3)")
    p = command("backfill", cmd_backfill,
                "Start one execution per fire from --start up to --end, each with its scheduled_time; "
                "fires that already ran are left alone.")
    p.add_argument("path", metavar="WORKFLOW", help="the workflow file (.py, .yaml or .json)")
    p.add_argument("--workflow", metavar="NAME", help="which workflow, when the file defines several")
    p.add_argument("--start", required=True, metavar="T", help="ISO-8601 date or time (no offset: the workflow's zone)")
    p.add_argument("--end", required=True, metavar="T", help="ISO-8601 date or time, not included")
    p.add_argument("--max-parallel", type=int, default=1, metavar="N", help="executions at once (default 1)")
    p.add_argument("--target", choices=("local", "aws"), default="local")
    p.add_argument("--region", default=None, help="with --target aws")
    p = command("serve", cmd_serve, "Serve the Step Functions API on this machine (boto3, the AWS CLI, any SDK).")
    p.add_argument("paths", nargs="*", metavar="PATH", help="workflow files to serve as state machines")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (not loopback: an access key is required)")
    p.add_argument("--port", type=int, default=8083)
    p.add_argument("--access-key-id", default=None, metavar="KEY", help="requests must be SigV4-signed with this key")
    p.add_argument("--secret-access-key", default=None, metavar="SECRET")
    p.add_argument("--mock-config", default=None, metavar="FILE",
                   help="Step Functions Local MockConfigFile (default: $SFN_MOCK_CONFIG)")

    p = command("cost", cmd_cost, "Estimate what a run and a month of the schedule cost on AWS.")
    p.add_argument("path", metavar="PATH", help="a .py, .yaml or .json workflow file")

    context_help = "CDK context for the app (vpc_id, private_subnets, tracing, log_level, alert_on_failed)"
    p = command("synth", cmd_synth, "Write the CloudFormation templates of the workflows (no AWS account needed).")
    p.add_argument("paths", nargs="*", metavar="PATH", help="workflow files (default: all under state_machines/)")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the templates (a cloud assembly)")
    p.add_argument("--context", "-c", action="append", metavar="KEY=VALUE", help=context_help)

    p = command("deploy", cmd_deploy, "Deploy the workflows' CDK stacks (the CDK CLI through npx), or with "
                "--state-machine-only create or update just the state machines with boto3.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="workflow files (default: all under state_machines/)")
    p.add_argument("--context", "-c", action="append", metavar="KEY=VALUE", help=context_help)
    p.add_argument("--yes", action="store_true", help="do not ask before widening IAM permissions")
    p.add_argument("--state-machine-only", action="store_true",
                   help="boto3: only the state machines of one workflow, onto existing resources")
    p.add_argument("--role-arn", default=None, metavar="ARN", help="with --state-machine-only: the machines' role")
    p.add_argument("--substitutions", default=None, metavar="FILE",
                   help="with --state-machine-only: JSON/YAML object placeholder name -> ARN")
    p.add_argument("--region", default=None, help="with --state-machine-only")

    p = command("diff", cmd_diff, "Show what `orchestrator deploy` would change (the CDK CLI through npx).")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--context", "-c", action="append", metavar="KEY=VALUE", help=context_help)

    p = command("destroy", cmd_destroy, "Delete the workflows' stacks (all of the project's with no PATH).")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--context", "-c", action="append", metavar="KEY=VALUE", help=context_help)
    p.add_argument("--force", action="store_true", help="do not ask for confirmation")

    p = command("aws", cmd_aws, "Start and inspect executions on AWS Step Functions.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("start", help="start an execution of a deployed workflow")
    q.add_argument("target", metavar="SPEC|NAME|ARN")
    q.add_argument("--input", default=None, metavar="JSON", help="JSON text or @file.json")
    q.add_argument("--wait", action="store_true", help="wait for the end; exit 0 only on SUCCEEDED")
    q.add_argument("--region", default=None)
    q = actions.add_parser("executions", help="list, show or print the history of executions")
    what = q.add_subparsers(dest="what", required=True, metavar="WHAT")
    r = what.add_parser("list", help="executions of a state machine, newest first")
    r.add_argument("state_machine", metavar="STATE_MACHINE", help="name or ARN")
    r.add_argument("--json", action="store_true")
    r.add_argument("--status", default=None, choices=("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT",
                                                       "ABORTED", "PENDING_REDRIVE"))
    r.add_argument("--limit", type=int, default=None)
    r.add_argument("--region", default=None)
    for name, text in (("show", "DescribeExecution"), ("history", "GetExecutionHistory, every page")):
        r = what.add_parser(name, help=text)
        r.add_argument("arn", metavar="EXECUTION_ARN")
        r.add_argument("--region", default=None)
    q = actions.add_parser("redrive", help="redrive a failed execution (RedriveExecution)")
    q.add_argument("arn", metavar="EXECUTION_ARN")
    q.add_argument("--region", default=None)
    q = actions.add_parser("logs", help="CloudWatch Logs of an execution's Batch jobs and Lambda invocations")
    q.add_argument("arn", metavar="EXECUTION_ARN")
    q.add_argument("task", nargs="?", default=None, metavar="TASK")
    q.add_argument("--follow", action="store_true", help="keep printing new lines until the execution ends")
    q.add_argument("--region", default=None)
    q = actions.add_parser("console", help="print the AWS console link for an ARN")
    q.add_argument("arn", metavar="ARN")

    p = command("messages", cmd_messages, "Alert messages of local runs (the SNS outbox).")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = actions.add_parser("redeliver", help="resume deliveries a stopped runner left retrying")
    q.add_argument("--failed", action="store_true", help="also retry deliveries that failed for good")
    if only is not None and only not in sub.choices:
        return build_parser()  # not a command: the whole parser says so, listing them
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=arguments[0] if arguments else None)
    args = parser.parse_args(arguments)
    handler: Handler = args.handler
    try:
        return handler(args)
    except OrchestratorError as error:
        _print_error(error)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`orchestrator graph ... | head`): not an error of ours.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
