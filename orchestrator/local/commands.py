"""What the CLI's local commands do: ``run``, ``executions list|show|history``, ``logs``, ``redrive``.

Each takes already-parsed values, prints with rich and returns the exit code. A user mistake
(an unknown execution, bad input JSON, a spec problem) is raised as an ``OrchestratorError``
for the CLI to print without a traceback. The store is ``$ORCHESTRATOR_HOME`` or
``./.orchestrator``.

The engine, the compiler and rich are imported where a command needs them, not here: ``run``
loads the workflow and starts its Lambda zygotes first, so they import the workflow's modules
while this process imports the rest (``tests/test_cli_startup.py`` keeps it so).
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.errors import OrchestratorError
from orchestrator.inputs import parse_execution_input
from orchestrator.local.environment import mock_config_path
from orchestrator.local.kept import ValidDocuments
from orchestrator.local.store import ExecutionRow, Store
from orchestrator.logical_time import with_scheduled_time

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from orchestrator.local.runs import RunResult


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _status(status: str) -> Text:
    from rich.text import Text

    from orchestrator.local.progress import STYLE

    return Text(status, style=STYLE.get(status, "yellow" if status in ("TIMED_OUT", "ABORTED") else ""))


SUMMARY_TAIL_LINES = 5  # under a failed attempt's row: what it printed last (the whole log: `logs`)


def _append_tail(status: Text, log: Path) -> None:
    """The failed attempt's last log lines under its row, where the reason alone says too little."""
    try:
        with log.open(encoding="utf-8", errors="replace") as f:
            lines = [line.rstrip() for line in deque(f, maxlen=SUMMARY_TAIL_LINES * 4) if line.strip()]
    except OSError:
        return
    # Lambda's own framing lines say nothing about the failure.
    lines = [line for line in lines if not line.startswith(("START RequestId", "END RequestId", "REPORT RequestId"))]
    for line in lines[-SUMMARY_TAIL_LINES:]:
        status.append(f"\n| {line[:120]}", style="dim")


def summary_rows(store: Store, execution_arn: str,
                 mocked: tuple[tuple[int, str, int, str], ...] = ()) -> list[tuple[str, str, Text, str, str]]:
    """One row per job or invocation, oldest first: (task, service, status, attempt, duration).

    Each retry of a Task state submits a new job (or invokes again), so a state can have several
    rows, one per attempt; a job retried by Batch itself counts its own attempts inside. Array
    children are left out: their parent's row stands for them (``orchestrator logs`` has theirs).
    """
    from orchestrator.local.progress import attempt_label

    found: list[tuple[int, str, str, Text, int | None, int, str]] = []
    for arn in [execution_arn] + [c.arn for c in store.children(execution_arn)]:
        for job in store.job_summaries(arn):
            if ":" in job["job_id"]:  # an array child, "<parent id>:<index>"
                continue
            duration = ""
            if job["started_at"] and job["stopped_at"]:
                duration = f"{(job['stopped_at'] - job['started_at']) / 1000:.2f}s"
            status = _status(job["status"])
            if job["status"] == "FAILED" and job["status_reason"]:
                code = job["exit_code"]
                reason = job["status_reason"] + ("" if code is None else f" (exit code {code})")
                status.append(f"\n{reason}", style="dim")
                if job["log_stream"]:
                    _append_tail(status, store.logs_dir / "batch" / str(job["log_stream"]))
            found.append((int(job["created_at"] or 0), job["state_name"] or job["job_name"], "batch",
                          status, job["task_attempt"], int(job["attempts"] or 1), duration))
        for inv in store.invocations(arn):
            status = _status(inv["status"])
            if inv["status"] == "FAILED":
                if inv.get("error"):
                    status.append(f"\n{inv['error']}", style="dim")
                if inv.get("log_path"):
                    _append_tail(status, Path(inv["log_path"]))
            found.append((int(inv["started_at"]), inv["state_name"] or inv["function_name"], "lambda",
                          status, inv["task_attempt"], 1, f"{(inv['duration_ms'] or 0) / 1000:.2f}s"))
    for at, state, attempt, outcome in mocked:
        found.append((at, state, "mock", _status(outcome), attempt, 1, ""))
    return [(task, service, status, attempt_label(attempt or 1, batch_attempts), duration)
            for _, task, service, status, attempt, batch_attempts, duration in sorted(found, key=lambda r: r[0])]


def _summary(console: Console, result: RunResult, store: Store | None = None) -> None:
    """The table of the run's tasks, then how it ended and what to type next.

    ``store``: the run's, still open (its connection has what the run wrote in its cache);
    without it the store at the result's home is opened for the table.
    """
    from rich.text import Text

    from orchestrator.local.task_table import TaskTable

    table = TaskTable("tasks", ("task", "service", "status", "attempt", "duration"))
    reader = Store(result.home) if store is None else store
    try:
        for cells in summary_rows(reader, result.execution_arn, result.mocked):
            table.add_row(*cells)
    finally:
        if store is None:
            reader.close()
    if result.reused:
        table.caption = f"not run again (completed before redrive): {', '.join(sorted(set(result.reused)))}"
    console.print(table)
    line = Text("execution ")
    line.append(result.name, style="bold")
    line.append(" ")
    line.append_text(_status(result.status))
    console.print(line)
    if result.error:
        console.print(Text(f"  error: {result.error}", style="red"))
        if result.cause:
            console.print(Text(f"  cause: {describe_cause(result.cause)}", style="red"))
    console.print(f"  logs: orchestrator logs {result.name} [TASK]")
    console.print(f"  log files: {_relative(str(result.home / 'logs'))}")
    console.print(f"  history: orchestrator executions history {result.name}")
    if result.status != "SUCCEEDED":
        console.print(f"  resume: orchestrator redrive {result.name}")


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def describe_cause(cause: str) -> str:
    """A failure's cause in one line: a Batch job or Lambda error JSON summarised, else the text.

    >>> describe_cause('{"JobName": "load", "Status": "FAILED", "StatusReason": "Essential container in task '
    ...                'exited", "Container": {"ExitCode": 3, "LogStreamName": "load/default/ab12"}}')
    'Batch job load FAILED: Essential container in task exited (exit code 3); log stream load/default/ab12'
    """
    try:
        data = json.loads(cause)
    except ValueError:
        return _short(cause)
    if isinstance(data, dict) and "JobName" in data:
        container = data.get("Container") or {}
        text = f"Batch job {data['JobName']} {data.get('Status', '')}: {data.get('StatusReason', '')}"
        if container.get("ExitCode") is not None:
            text += f" (exit code {container['ExitCode']})"
        if container.get("LogStreamName"):
            text += f"; log stream {container['LogStreamName']}"
        return text
    if isinstance(data, dict) and "errorMessage" in data:
        return f"{data.get('errorType', 'Error')}: {data['errorMessage']}"
    return _short(cause)


def _relative(path: str) -> str:
    if not path:
        return ""
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def run(path: str, input_json: str | None = None, mock_config: str | None = None, test_case: str | None = None,
        *, workflow: str | None = None, aws_endpoint: str | None = None,
        scheduled_time: str | None = None) -> int:
    """``orchestrator run PATH``: live progress, then a summary; 0 when the execution SUCCEEDED.

    PATH is a workflow (``.py``, ``.yaml``, ``.json`` spec) or a plain ASL definition
    (``*.asl.json``); with a test case, the mock config defaults to ``SFN_MOCK_CONFIG``, as in Step
    Functions Local.
    """
    _quick_teardown()
    if test_case is not None:  # as in Step Functions Local: the file alone mocks nothing
        mock_config = mock_config_path(mock_config)
    if str(path).endswith(".json") and _definition_file(path):
        from orchestrator.local.plain import run_definition

        if workflow is not None:
            raise OrchestratorError(f"{path} is one state machine definition; --workflow picks a workflow "
                                    "from a file that defines several, so leave it out.")
        input = parse_execution_input(input_json)
        if scheduled_time is not None:  # asked for: a plain definition gets it in its input too
            input = with_scheduled_time(input, scheduled_time)
        result = run_definition(path, input, mock_config=mock_config, test_case=test_case,
                                aws_endpoint=aws_endpoint, progress=True)
        _summary(_console(), result)
        return 0 if result.succeeded else 1
    if aws_endpoint is not None:
        raise OrchestratorError(f"--aws-endpoint is for plain ASL machines (*.asl.json); {path} is a "
                                "workflow, whose tasks run on the local Batch, Lambda and SNS.")
    from orchestrator.local.lambda_ import plan_functions, prestart_zygote, start_lambda

    # A Python workflow file declares its Python tasks: their zygote's interpreter starts while
    # this process loads the workflow (the zygote imports the workflow's modules once told them).
    early = prestart_zygote(os.getcwd()) if _may_declare_functions(path) else None
    # A workflow loaded again unchanged is not checked again (local.kept); the run uses their store.
    known = ValidDocuments()
    try:
        from orchestrator.spec import select

        wf = select(path, workflow, known=known)
        execution_input = parse_execution_input(input_json)
    except BaseException:
        known.close()
        if early is not None:
            early.close(unused=True)
        raise
    # The zygotes import the workflow's modules while this process imports the engine, the
    # compiler and rich and compiles (~0.1 s that the first task otherwise waits for).
    lambda_ = start_lambda(known.store(), plan_functions(wf), os.getcwd(), zygote=early)
    try:
        from orchestrator.local.runs import run_workflow

        result = run_workflow(wf, execution_input, mock_config=mock_config, test_case=test_case,
                              progress=True, scheduled_time=scheduled_time, lambda_=lambda_)
    except BaseException:
        lambda_.close()
        raise
    # Stopping the warm workers and their zygotes (~10 ms) overlaps printing the summary.
    closing = threading.Thread(target=lambda_.close, name="close-local-lambda")
    closing.start()
    try:
        _summary(_console(), result, lambda_.store)
    finally:
        closing.join()
        # Closed here rather than by the collector at exit (see _quick_teardown): the last
        # connection's close checkpoints the WAL into the database file, as it always did.
        lambda_.store.close()
    return 0 if result.succeeded else 1


# Words a workflow file with Python or Lambda tasks almost surely contains (``@wf.task``,
# ``wf.lambda_(...)``, the model's classes).
_FUNCTION_MARKERS = (".task", "lambda_(", "PythonTask", "LambdaTask")


def _may_declare_functions(path: str) -> bool:
    """Whether a zygote is worth starting before the workflow at ``path`` is loaded: a guess from
    its text, so a Batch-only file starts no interpreter for nothing. A wrong guess costs time
    only (a missed overlap, or an interpreter stopped unused), never behaviour.
    """
    if not str(path).endswith(".py"):
        return False
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(marker in text for marker in _FUNCTION_MARKERS)


def _quick_teardown() -> None:
    """At exit, freeze the heap first: the interpreter's last collections then skip the objects
    a run leaves (the engine, the compiler, rich), ~20 ms of CPU after the summary is printed.

    Only the exiting process is affected; everything is still freed and finalised as usual,
    only garbage cycles left at exit are not searched for.
    """
    atexit.unregister(gc.freeze)  # once, however many commands a process runs
    atexit.register(gc.freeze)


def _definition_file(path: str) -> bool:
    from orchestrator.local.plain import definition_file

    return definition_file(path) is not None


def _store() -> Store:
    from orchestrator.local.runs import reconcile

    store = Store()
    reconcile(store)
    return store


def _resolve(execution: str) -> tuple[Store, ExecutionRow]:
    store = _store()
    return store, store.resolve(execution)


def executions_list(json_output: bool = False) -> int:
    """``orchestrator executions list [--json]``: newest first (children under their parent's name)."""
    store = _store()
    rows = store.executions()
    if json_output:
        print(json.dumps({"executions": [r.list_entry() for r in rows]}, indent=2))
        return 0
    console = _console()
    if not rows:
        console.print(f"No executions in {store.path}. Start one: orchestrator run SPEC")
        return 0
    # Simple rules and no state machine column (it starts every top-level name) keep a row on one
    # line in 80 columns: the name is copied into other commands, so it is never broken.
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started UTC", no_wrap=True)
    table.add_column("redrives", no_wrap=True, justify="right")
    for row in rows:
        name = row.name if row.parent_arn is None else f"└ {row.state_machine_arn.rsplit(':', 1)[-1]}:{row.name}"
        table.add_row(name, _status(row.status), row.start_date[5:19].replace("T", " "), str(row.redrive_count or ""))
    console.print(table)
    return 0


def executions_show(execution: str) -> int:
    """``orchestrator executions show EXECUTION``: DescribeExecution's fields, then its tasks."""
    store, row = _resolve(execution)
    described: dict[str, Any] = {
        "executionArn": row.arn, "stateMachineArn": row.state_machine_arn, "name": row.name,
        "status": row.status, "startDate": row.start_date, "stopDate": row.stop_date, "input": row.input,
        "output": row.output, "error": row.error, "cause": row.cause, "redriveCount": row.redrive_count}
    if row.parent_arn:
        described["parentExecutionArn"] = row.parent_arn
    children = store.children(row.arn)
    if children:
        described["childExecutions"] = [c.arn for c in children]
    print(json.dumps({k: v for k, v in described.items() if v is not None}, indent=2))
    return 0


def executions_history(execution: str) -> int:
    """``orchestrator executions history EXECUTION``: the events, as GetExecutionHistory returns them."""
    store, row = _resolve(execution)
    print(json.dumps({"events": store.events(row.arn)}, indent=2))
    return 0


def logs(execution: str, task: str | None = None) -> int:
    """``orchestrator logs EXECUTION [TASK]``: each job attempt's and function's log, headed by its stream."""
    store, row = _resolve(execution)
    console = _console()
    arns = [row.arn] + [c.arn for c in store.children(row.arn)]
    sections: list[tuple[str, str, str]] = []
    for arn in arns:
        for job in store.jobs(arn):
            for path in job["log_paths"]:
                sections.append((job["state_name"] or job["job_name"], "batch", path))
        seen: set[str] = set()
        for inv in store.invocations(arn):
            if inv["log_path"] and inv["log_path"] not in seen:
                seen.add(inv["log_path"])
                sections.append((inv["state_name"] or inv["function_name"], "lambda", inv["log_path"]))
    tasks = sorted({s[0] for s in sections})
    if task is not None:
        sections = [s for s in sections if s[0] == task]
        if not sections:
            raise OrchestratorError(
                f"Execution {row.name!r} has no logs for task {task!r}; tasks with logs: {', '.join(tasks) or 'none'}.")
    if not sections:
        console.print(f"Execution {row.name!r} has no job or function logs.")
        return 0
    from rich.text import Text

    from orchestrator.local.batch import log_text

    for name, service, path in sections:
        stream = _stream_name(store, path)
        console.rule(Text(f"{name} ({service}) {stream}", style="bold"))
        console.out(log_text(path), end="", highlight=False)
    return 0


def _stream_name(store: Store, path: str) -> str:
    try:
        return str(Path(path).relative_to(store.logs_dir))
    except ValueError:
        return path


def redrive(execution: str) -> int:
    """``orchestrator redrive EXECUTION``: finish it; tasks that completed are not run again."""
    from orchestrator.local.runs import redrive_execution

    console = _console()
    result = redrive_execution(execution, progress=True)
    _summary(console, result)
    return 0 if result.succeeded else 1


def redeliver_messages(include_failed: bool = False) -> int:
    """Resume SNS deliveries a dead runner left RETRYING (with ``include_failed``, FAILED ones too).

    Meant for ``orchestrator messages redeliver [--failed]``; a run or redrive does the
    RETRYING part by itself. Exits 0 when every resumed delivery got through.
    """
    from rich.text import Text

    from orchestrator.local.sns import configured_outbox

    store = _store()
    console = _console()
    outbox = configured_outbox(store, printer=lambda text: console.print(Text(text, style="yellow")))
    resumed = outbox.redeliver(include_failed=include_failed)
    outbox.flush()
    if not resumed:
        console.print("No unfinished SNS deliveries.")
        return 0
    failed = 0
    for row in resumed:
        last = store.deliveries(row["message_id"])
        status = next((d["status"] for d in reversed(last) if d["target"] == row["target"]), "?")
        failed += status != "DELIVERED"
        line = Text(f"{row['message_id']} → {row['target']}: ")
        line.append_text(_status(status))
        console.print(line)
    return 1 if failed else 0
