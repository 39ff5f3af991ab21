"""Run a Python task function as a Batch job: ``python -m orchestrator.batch_entry module:function``.

A Python task longer than Lambda's 15 minutes is compiled to a Batch job whose container runs
this module, so the same function works in both places. The event has the shape the Lambda
task's payload has (``execution``, ``workflow``, ``task``, ``function``, ``input``) and comes from,
first found:

1. ``--event JSON`` or ``--event-file PATH`` on the command line;
2. ``ORCHESTRATOR_EVENT`` (JSON text) or ``ORCHESTRATOR_EVENT_FILE`` (a path) in the environment;
3. the execution named by ``ORCHESTRATOR_EXECUTION_ID`` (set by the compiled task): from the local
   store when it has it (``orchestrator run``), else from Step Functions' DescribeExecution
   (boto3) — environment overrides are capped at 8 KiB on ECS, so the input is not passed there.

The function is called as ``function(event, context)`` (or ``function(event)``); its JSON result
is printed as the last line of stdout and written to ``ORCHESTRATOR_RESULT_FILE`` when set. An
exception in the function prints its traceback and exits 1, which fails the Batch job; an event
that is not JSON, or a function that cannot be imported, is one line naming it and exits 2.

    >>> main(["json:dumps", "--event", "[1, 2]"])   # json.dumps(event) → a JSON string result
    "[1, 2]"
    0
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from orchestrator.errors import OrchestratorError

USAGE_ERROR = 2  # the event or the function could not be had: nothing of the task ran


class EntryError(OrchestratorError):
    """The task could not be started: its event is not JSON or its function cannot be imported."""


class BatchContext:
    """A Lambda-like context for a function running on Batch."""

    def __init__(self, function: str) -> None:
        self.function_name = function
        self.aws_request_id = os.environ.get("AWS_BATCH_JOB_ID", "local")
        self.memory_limit_in_mb = 0
        self.log_stream_name = os.environ.get("AWS_BATCH_JOB_ID", "")

    def get_remaining_time_in_millis(self) -> int:
        return 2**31 - 1  # Batch's attemptDurationSeconds is not visible inside the container


def _execution_input(execution_id: str) -> tuple[Any, bool]:
    """(input, found) for ``execution_id``: the local store first, then DescribeExecution."""
    home = os.environ.get("ORCHESTRATOR_HOME")
    if home and os.path.exists(os.path.join(home, "store.sqlite3")):
        from orchestrator.errors import OrchestratorError
        from orchestrator.local.store import Store

        try:
            row = Store(home).execution(execution_id)
        except OrchestratorError:
            pass
        else:
            return row.input, True
    try:
        import boto3
    except ImportError:
        return None, False
    described = boto3.client("stepfunctions").describe_execution(executionArn=execution_id)
    return json.loads(described.get("input") or "{}"), True


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EntryError(f"{where} is not JSON ({exc}); fix: pass a JSON value, e.g. --event '{{\"input\": {{}}}}'") from None


def _json_file(path: str, where: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise EntryError(f"{where} {path!r} cannot be read: {exc.strerror}") from None
    return _json(text, f"{where} {path!r}")


def load_event(args: argparse.Namespace, function: str) -> Any:
    if args.event is not None:
        return _json(args.event, "--event")
    if args.event_file is not None:
        return _json_file(args.event_file, "--event-file")
    if os.environ.get("ORCHESTRATOR_EVENT"):
        return _json(os.environ["ORCHESTRATOR_EVENT"], "ORCHESTRATOR_EVENT")
    if os.environ.get("ORCHESTRATOR_EVENT_FILE"):
        return _json_file(os.environ["ORCHESTRATOR_EVENT_FILE"], "ORCHESTRATOR_EVENT_FILE")
    execution_id = os.environ.get("ORCHESTRATOR_EXECUTION_ID")
    event: dict[str, Any] = {"workflow": os.environ.get("ORCHESTRATOR_WORKFLOW"),
                             "task": os.environ.get("ORCHESTRATOR_TASK"), "function": function, "input": {}}
    if execution_id:
        event["execution"] = {"Id": execution_id, "Name": execution_id.rsplit(":", 1)[-1]}
        value, found = _execution_input(execution_id)
        if found:
            # A child state machine's input wraps the workflow input as {"input", "results"}.
            if isinstance(value, dict) and "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID" in value:
                value = value.get("input")
            event["input"] = value
    # A start without scheduled_time (AWS console) got the start time in the machine's first
    # state, which DescribeExecution's input does not show; the job's environment has it.
    scheduled = os.environ.get("ORCHESTRATOR_SCHEDULED_TIME")
    if scheduled and isinstance(event["input"], dict) and "scheduled_time" not in event["input"]:
        event["input"]["scheduled_time"] = scheduled
    return event


def _call(fn: Any, event: Any, context: BatchContext) -> Any:
    try:
        parameters = inspect.signature(fn).parameters.values()
        positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        takes_context = len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in parameters)
    except (TypeError, ValueError):  # builtins without a signature
        takes_context = False
    return fn(event, context) if takes_context else fn(event)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.batch_entry",
                                     description="Run a Python task function as a batch job.")
    parser.add_argument("function", metavar="MODULE:FUNCTION", help="module:function or path/to/file.py:function")
    parser.add_argument("--event", default=None, metavar="JSON")
    parser.add_argument("--event-file", default=None, metavar="PATH")
    args = parser.parse_args(argv)
    from orchestrator.local.lambda_bootstrap import load_handler

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        event = load_event(args, args.function)
        try:
            fn = load_handler(args.function)
        except (ImportError, AttributeError) as exc:
            raise EntryError(f"cannot import the task's function {args.function!r}: {exc}; fix: name it as "
                             "module:function (or path/to/file.py:function) importable from the working "
                             "directory") from None
    except EntryError as exc:
        print(f"orchestrator.batch_entry: {exc}", file=sys.stderr, flush=True)
        return USAGE_ERROR
    try:
        result = _call(fn, event, BatchContext(args.function))
        text = json.dumps(result)
    except Exception:
        traceback.print_exc()
        return 1
    print(text, flush=True)
    result_file = os.environ.get("ORCHESTRATOR_RESULT_FILE")
    if result_file:
        with open(result_file, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
