"""Parallel and Map states: branches and iterations run concurrently on threads.

Each branch or iteration gets its own ``Scope`` (a read-only copy of the outer variables, its own
``previousEventId`` chain, a cancel event). The first failure that is not tolerated abandons the
siblings, as AWS does, and fails the state with that error. Inline Map runs at most 40 iterations
at once (AWS's inline concurrency limit) or ``MaxConcurrency``; one iteration at a time runs on the
calling thread.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator import arns
from orchestrator.engine import dataflow, itemio
from orchestrator.engine.clock import run_on_worker
from orchestrator.engine.dataflow import QUERY_ERROR, RUNTIME, dumps
from orchestrator.engine.errors import StatesError
from orchestrator.engine.history import History
from orchestrator.engine.runtime import Cancelled, Runtime, Scope
from orchestrator.engine.states import (
    JSONATA,
    JSONPATH,
    Outcome,
    ReportedError,
    StateRun,
    error_output,
    run_machine,
    with_retries,
)
from orchestrator.engine.values import json_type
from orchestrator.limits import INLINE_MAP_CONCURRENCY

# Local cap on threads for a distributed Map (AWS allows up to 10,000 child executions at once).
DISTRIBUTED_MAP_CONCURRENCY = 64

Job = Callable[[Scope], Any]


@dataclasses.dataclass(slots=True)
class _Batch:
    results: list[Any]
    failures: int = 0
    error: StatesError | None = None
    internal: BaseException | None = None
    # previousEventId of the join: the last event of the branches that finished (success), or
    # the last event on the chain of the branch whose failure ended the state.
    last_event: int = 0
    failed_event: int | None = None
    # A distributed Map's Map Run and its child executions, one per item.
    map_run_arn: str | None = None
    child_arns: list[str] = dataclasses.field(default_factory=list)


def run_jobs(run: StateRun, jobs: list[Job], concurrency: int, *, tolerated: Callable[[int], bool] | None = None,
             isolated_variables: bool = False, own_history: bool = False) -> _Batch:
    """Run ``jobs`` with at most ``concurrency`` at once; stop at the first intolerable failure.

    Afterwards the parent's chain continues where AWS continues it (GetExecutionHistory as
    recorded on AWS): after a success, at the newest event that one of *these* branches recorded
    (never at an event of a sibling branch of an enclosing Parallel or Map that happens to be
    newer); after a failure, at the last event of the failing branch, before its
    ``MapIterationFailed``. ``own_history`` jobs (distributed Map children) record elsewhere and
    leave the parent's chain alone.
    """
    parent = run.scope
    batch = _Batch(results=[None] * len(jobs))
    lock = threading.Lock()
    next_index = [0]
    started_id = parent.previous
    batch.last_event = started_id
    clock = run.rt.clock

    def take() -> int | None:
        with lock:
            if batch.error is not None or batch.internal is not None or parent.cancelled:
                return None
            if next_index[0] >= len(jobs):
                return None
            i = next_index[0]
            next_index[0] += 1
            return i

    def run_one(i: int) -> None:
        scope = parent.child(clock, 0 if own_history else started_id, {} if isolated_variables else None)
        try:
            batch.results[i] = jobs[i](scope)
            with lock:
                batch.last_event = max(batch.last_event, scope.previous)
        except Cancelled:
            pass
        except StatesError as e:
            with lock:
                batch.failures += 1
                batch.results[i] = error_output(e)
                batch.last_event = max(batch.last_event, scope.previous)
                if tolerated is None or not tolerated(batch.failures):
                    if batch.error is None:
                        batch.error = e
                        batch.failed_event = scope.previous
                    abandon = True
                else:
                    abandon = False
            if abandon:
                for child in list(parent.children):
                    child.abandon()
        except BaseException as e:  # an engine bug: stop everything and re-raise it in the parent
            with lock:
                batch.internal = batch.internal or e
            for child in list(parent.children):
                child.abandon()
        finally:
            parent.release(scope)

    workers = max(1, min(concurrency, len(jobs)))
    if workers == 1:
        while (i := take()) is not None:
            run_one(i)
    else:
        remaining = [workers]
        all_done = clock.event()

        def worker() -> None:
            try:
                while (i := take()) is not None:
                    run_one(i)
            finally:
                with lock:
                    remaining[0] -= 1
                    last = remaining[0] == 0
                if last:
                    all_done.set()

        for n in range(workers):
            run_on_worker(clock, worker, name=f"{run.name}-{n}")
        clock.wait(all_done, None)
    if batch.internal is not None:
        raise batch.internal
    if not own_history:
        parent.previous = batch.last_event if batch.failed_event is None else batch.failed_event
    if parent.cancelled:
        raise Cancelled()
    return batch


def _joined(run: StateRun, event_type: str) -> None:
    """Record ``ParallelStateSucceeded``/``MapStateSucceeded`` without moving the chain on.

    On AWS both this event and the state's ``…StateExited`` name the branches' last event as
    ``previousEventId`` (e.g. ``MapIterationSucceeded`` 37 ← ``MapStateSucceeded`` 38, and
    ``MapStateExited`` 39 → 37 in recorded histories), so the chain skips the Succeeded event.
    """
    joined = run.scope.previous
    run.event(event_type)
    run.scope.previous = joined


# --- Parallel --------------------------------------------------------------------------------

def run_parallel(run: StateRun) -> Outcome:
    state = run.state
    if run.jsonata:
        branch_input = (dataflow.jsonata_template(state["Arguments"], run.bindings(), "Arguments")
                        if "Arguments" in state else run.input)
    else:
        effective = run.effective_input()
        branch_input = run.payload(state["Parameters"], effective) if "Parameters" in state else effective
    ql = JSONATA if run.jsonata else JSONPATH

    def attempt(n: int) -> Outcome:
        run.event("ParallelStateStarted")
        jobs: list[Job] = [
            (lambda b: lambda scope: run_machine(run.rt, b, branch_input, scope, ql))(branch)
            for branch in state["Branches"]]
        batch = run_jobs(run, jobs, len(jobs))
        if batch.error is not None:
            raise batch.error
        _joined(run, "ParallelStateSucceeded")
        return run.finish(batch.results)

    return with_retries(run, attempt, "ParallelStateFailed")


# --- Map -------------------------------------------------------------------------------------

def _int_field(run: StateRun, field: str, *, bindings: Mapping[str, Any] | None) -> int | None:
    """A numeric Map field, given literally, as ``{% %}``, or through ``<field>Path``."""
    state = run.state
    if field in state:
        value = state[field]
        if bindings is not None and dataflow.is_jsonata_expr(value):
            value = dataflow.jsonata(value, bindings, field)
            if not isinstance(value, int | float) or isinstance(value, bool) or value != int(value):
                raise StatesError(QUERY_ERROR, f"The JSONata expression '{state[field][2:-2].strip()}' "
                                               f"specified for the field '{field}' returned an unexpected "
                                               f"result type. Expected 'integer', but was "
                                               f"'{json_type(value)}' for value: {dumps(value)}")
        return int(value)
    path_field = field + "Path"
    if path_field in state:
        path = state[path_field]
        value = run.path(path, run.effective_input(), path_field)
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
            number = int(value)
        if number is None:
            shown = value if isinstance(value, str) else dumps(value)
            raise StatesError(RUNTIME, f"The {path_field} field refers to value \"{shown}\" which is not "
                                       f"a valid integer: {path}")
        return number
    return None


def _percentage(run: StateRun, bindings: Mapping[str, Any] | None) -> float | None:
    state = run.state
    field = "ToleratedFailurePercentage"
    if field in state:
        value = state[field]
        if bindings is not None and dataflow.is_jsonata_expr(value):
            value = dataflow.jsonata(value, bindings, field)
        return float(value)
    if field + "Path" in state:
        path = state[field + "Path"]
        value = run.path(path, run.effective_input(), field + "Path")
        try:
            return float(value)
        except (TypeError, ValueError):
            shown = value if isinstance(value, str) else dumps(value)
            raise StatesError(RUNTIME, f"The {field}Path field refers to value \"{shown}\" which is not a "
                                       f"valid float: {path}") from None
    return None


def _items(run: StateRun, effective: Any) -> list[Any]:
    state = run.state
    if "ItemReader" in state:
        return itemio.read_items(run, state["ItemReader"], effective)
    if run.jsonata:
        if "Items" in state:
            raw = state["Items"]
            value = dataflow.jsonata_template(raw, run.bindings(), "Items")
            if not isinstance(value, list):
                expr = raw[2:-2].strip() if isinstance(raw, str) else dumps(raw)
                raise StatesError(QUERY_ERROR, f"The JSONata expression '{expr}' specified for the field "
                                               f"'Items' returned an unexpected result type. Expected 'array', "
                                               f"but was '{json_type(value)}' for value: {dumps(value)}")
            return value
        if not isinstance(run.input, list):
            raise StatesError(QUERY_ERROR, f"Map state input must be an array but was: {dumps(run.input)}")
        return run.input
    path = state.get("ItemsPath", "$")
    value = run.path(path, effective, "ItemsPath")
    if not isinstance(value, list):
        raise StatesError(RUNTIME, f"Invalid input for Map state: the ItemsPath '{path}' must reference a "
                                   f"JSON array, but it references: {dumps(value)}")
    return value


def run_map(run: StateRun) -> Outcome:
    state = run.state
    processor: Mapping[str, Any] = state.get("ItemProcessor") or state["Iterator"]
    config = processor.get("ProcessorConfig", {})
    distributed = config.get("Mode") == "DISTRIBUTED"
    effective = None if run.jsonata else run.effective_input()
    bindings = run.bindings() if run.jsonata else None
    max_concurrency = _int_field(run, "MaxConcurrency", bindings=bindings) or 0
    try:
        # AWS records MapStateFailed when the tolerance or the items cannot be evaluated
        # (but not for a bad MaxConcurrencyPath, which fails before the state starts).
        tolerated_count = _int_field(run, "ToleratedFailureCount", bindings=bindings)
        if tolerated_count is not None and tolerated_count < 0:
            raise StatesError(RUNTIME, "ToleratedFailureCount cannot be negative.")
        tolerated_pct = _percentage(run, bindings)
        if tolerated_pct is not None and not 0 <= tolerated_pct <= 100:
            raise StatesError(RUNTIME, "ToleratedFailurePercentage must be between 0 and 100.")
        items = _items(run, effective)
    except StatesError as e:
        if e.error == QUERY_ERROR:
            run.event("EvaluationFailed", {"error": e.error, "cause": e.cause, "state": run.name})
            e = ReportedError(e.error, e.cause)
        run.event("MapStateFailed")
        raise e from None
    if "ItemBatcher" in state:
        items = itemio.batch_items(run, state["ItemBatcher"], items, effective)
    ql = JSONATA if run.jsonata else JSONPATH
    selector = state.get("ItemSelector", state.get("Parameters"))

    def item_input(index: int, value: Any) -> Any:
        if selector is None:
            return value
        item = {"Index": index, "Value": value}
        sub = dataclasses.replace(run, map_item=item)
        if run.jsonata:
            return dataflow.jsonata_template(selector, sub.bindings(), "ItemSelector")
        return sub.payload(selector, effective, "ItemSelector")

    inputs = [item_input(i, v) for i, v in enumerate(items)]
    total = len(inputs)

    def tolerated(failures: int) -> bool:
        if tolerated_count is not None and failures <= tolerated_count:
            return True
        return tolerated_pct is not None and total > 0 and failures * 100.0 / total <= tolerated_pct

    def attempt(n: int) -> Outcome:
        run.event("MapStateStarted", {"length": total})
        if distributed:
            batch = _run_distributed(run, processor, inputs, max_concurrency, tolerated, ql)
        else:
            batch = _run_inline(run, processor, inputs, max_concurrency, tolerated, ql)
        if batch.error is not None:
            raise batch.error
        _joined(run, "MapStateSucceeded")
        results: Any = batch.results
        if "ResultWriter" in state:
            results = itemio.write_results(run, state["ResultWriter"], batch.results,
                                           map_run_arn=batch.map_run_arn, child_arns=batch.child_arns)
        return run.finish(results)

    return with_retries(run, attempt, "MapStateFailed")


def _run_inline(run: StateRun, processor: Mapping[str, Any], inputs: list[Any], max_concurrency: int,
                tolerated: Callable[[int], bool], ql: str) -> _Batch:
    rt = run.rt

    def job(index: int, value: Any) -> Job:
        def go(scope: Scope) -> Any:
            details = {"name": run.name, "index": index}
            scope.previous = rt.history.add("MapIterationStarted", scope.previous, details)
            try:
                result = run_machine(rt, processor, value, scope, ql)
            except Cancelled:
                rt.history.add("MapIterationAborted", scope.previous, details)
                raise
            except StatesError:
                rt.history.add("MapIterationFailed", scope.previous, details)
                raise
            scope.previous = rt.history.add("MapIterationSucceeded", scope.previous, details)
            return result
        return go

    concurrency = INLINE_MAP_CONCURRENCY if max_concurrency <= 0 else min(max_concurrency,
                                                                          INLINE_MAP_CONCURRENCY)
    jobs = [job(i, v) for i, v in enumerate(inputs)]
    has_tolerance = any(k in run.state for k in ("ToleratedFailureCount", "ToleratedFailureCountPath",
                                                 "ToleratedFailurePercentage",
                                                 "ToleratedFailurePercentagePath"))
    return run_jobs(run, jobs, concurrency, tolerated=tolerated if has_tolerance else None)


def _run_distributed(run: StateRun, processor: Mapping[str, Any], inputs: list[Any], max_concurrency: int,
                     tolerated: Callable[[int], bool], ql: str) -> _Batch:
    """A Map Run: one child execution per item, each with its own ARN and history.

    As on AWS, the parent's history holds only ``MapRunStarted`` and ``MapRunSucceeded|Failed``;
    each child's events (``ExecutionStarted`` … ``ExecutionSucceeded|Failed|Aborted``, ids from 1)
    go to ``Runtime.on_child_event(child_execution_arn, event)``, never to the parent's
    ``on_event``: their ids would collide with the parent's, and GetExecutionHistory of the
    parent does not show them either. ARNs follow AWS's shapes: Map Run
    ``…:mapRun:<machine>/<label>:<uuid>``, children ``…:execution:<machine>/<label>:<uuid>``,
    where ``<label>`` is the state's ``Label`` or its name.
    """
    rt = run.rt
    label = str(run.state.get("Label", run.name))
    child_machine = f"{rt.state_machine_name}/{label}"
    map_run_arn = arns.map_run(rt.state_machine_arn, child_machine, str(uuid.uuid4()))
    run.event("MapRunStarted", {"mapRunArn": map_run_arn})
    child_arns = [arns.map_run_execution(rt.state_machine_arn, child_machine, str(uuid.uuid4())) for _ in inputs]
    child_machine_arn = arns.map_run_machine(rt.state_machine_arn, child_machine)

    def job(index: int, value: Any) -> Job:
        def go(scope: Scope) -> Any:
            return _child_execution(rt, child_arns[index], child_machine_arn, processor, value, scope, ql)
        return go

    concurrency = DISTRIBUTED_MAP_CONCURRENCY if max_concurrency <= 0 else min(max_concurrency,
                                                                              DISTRIBUTED_MAP_CONCURRENCY)
    batch = run_jobs(run, [job(i, v) for i, v in enumerate(inputs)], concurrency, tolerated=tolerated,
                     isolated_variables=True, own_history=True)
    batch.map_run_arn, batch.child_arns = map_run_arn, child_arns
    if batch.error is not None and batch.failures:
        batch.error = StatesError("States.ExceedToleratedFailureThreshold",
                                  "The specified tolerated failure threshold was exceeded")
    if batch.error is not None:
        run.event("MapRunFailed", {"error": batch.error.error, "cause": batch.error.cause})
    else:
        run.event("MapRunSucceeded")
    return batch


def _child_execution(rt: Runtime, arn: str, machine_arn: str, processor: Mapping[str, Any], value: Any,
                     scope: Scope, ql: str) -> Any:
    """Run one Map Run child as its own execution: own history, ``$$.Execution`` and quota."""
    listener = rt.on_child_event
    history = History(rt.clock.now, None if listener is None else (lambda event: listener(arn, event)))
    child = dataclasses.replace(
        rt, history=history, lock=threading.Lock(), execution_arn=arn,
        execution_name=arn.rsplit(":", 1)[-1], state_machine_arn=machine_arn,
        state_machine_name=machine_arn.rsplit(":", 1)[-1], start_time=rt.clock.now(), input=value)
    history.add("ExecutionStarted", 0, {"input": dumps(value), "inputDetails": {"truncated": False},
                                        "roleArn": rt.role_arn}, at=child.start_time)
    try:
        output = run_machine(child, processor, value, scope, ql)
    except Cancelled:
        history.add("ExecutionAborted", len(history), {}, final=True)
        raise
    except StatesError as e:
        history.add("ExecutionFailed", len(history), {"error": e.error, "cause": e.cause or None}, final=True)
        raise
    history.add("ExecutionSucceeded", scope.previous,
                {"output": dumps(output), "outputDetails": {"truncated": False}}, final=True)
    return output

