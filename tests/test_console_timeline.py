"""States and attempts derived from a history (orchestrator.console.timeline)."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.console.timeline import derive_states, epoch_ms
from tests.console_support import T0, event, failed_history


def ms(seconds: float) -> int:
    return int((T0 + timedelta(seconds=seconds)).timestamp() * 1000)


def test_retries_are_attempts_and_a_caught_failure_is_caught() -> None:
    states = derive_states(failed_history(), jobs=[], invocations=[], execution_status="FAILED")
    load = states["load"]
    assert load.status == "CAUGHT" and load.entries == 1
    assert [(a.number, a.status, a.error, a.cause) for a in load.attempts] == [
        (1, "FAILED", "States.TaskFailed", "exit 3"), (2, "FAILED", "States.TaskFailed", "exit 3 again")]
    assert load.attempts[0].running_ms == 2000 and load.attempts[1].scheduled_ms == ms(5)
    assert states["Failed"].status == "FAILED"
    assert list(states) == ["load", "Failed"]


def test_a_job_waiting_for_capacity_counts_as_waiting() -> None:
    events = failed_history()[:4]
    jobs = [{"job_id": "j1", "state_name": "load", "status": "RUNNING", "task_attempt": 1, "log_paths": ["/l"],
             "description": {"CreatedAt": ms(1), "StartedAt": ms(4), "Attempts": []}}]
    (load,) = derive_states(events, jobs=jobs, invocations=[], execution_status="RUNNING").values()
    attempt = load.attempts[0]
    assert (attempt.scheduled_ms, attempt.started_ms, attempt.waiting_ms) == (ms(1), ms(4), 3000)
    assert attempt.job_id == "j1" and attempt.log_paths == ["/l"]


def test_batch_attempts_and_exit_codes() -> None:
    events = failed_history()[:5]
    jobs = [{"job_id": "j1", "state_name": "load", "status": "FAILED", "task_attempt": 1, "log_paths": ["/a", "/b"],
             "description": {"CreatedAt": ms(1), "Attempts": [
                 {"StartedAt": ms(1.5), "StoppedAt": ms(2), "Container": {"ExitCode": 137}},
                 {"StartedAt": ms(2.5), "StoppedAt": ms(3), "Container": {"ExitCode": 3}}]}}]
    (load,) = derive_states(events, jobs=jobs, invocations=[], execution_status="FAILED").values()
    attempt = load.attempts[0]
    assert attempt.exit_code == 3 and attempt.batch_attempts == [(ms(1.5), ms(2), 137), (ms(2.5), ms(3), 3)]
    assert attempt.started_ms == ms(1.5) and attempt.waiting_ms == 500


def test_a_function_invocation_gives_its_log_and_start() -> None:
    events = failed_history()[:4]
    invocations = [{"request_id": "r1", "state_name": "load", "status": "SUCCEEDED", "task_attempt": 1,
                    "started_at": ms(1.2), "log_path": "/f.log", "error": None}]
    (load,) = derive_states(events, jobs=[], invocations=invocations, execution_status="RUNNING").values()
    assert load.attempts[0].request_id == "r1" and load.attempts[0].log_paths == ["/f.log"]
    assert load.attempts[0].waiting_ms == 200


def test_states_still_open_when_the_execution_stopped_are_aborted() -> None:
    events = failed_history()[:4] + [event(5, 4, "ExecutionAborted", T0 + timedelta(seconds=2))]
    (load,) = derive_states(events, jobs=[], invocations=[], execution_status="ABORTED").values()
    assert load.status == "ABORTED" and load.attempts[0].status == "ABORTED"


def test_a_redrive_starts_a_new_run_and_marks_reused_results() -> None:
    at = [T0 + timedelta(seconds=x) for x in range(30)]
    first = [event(1, 0, "ExecutionStarted", at[0]),
             event(2, 1, "TaskStateEntered", at[0], name="a"), event(3, 2, "TaskScheduled", at[0]),
             event(4, 3, "TaskStarted", at[0]), event(5, 4, "TaskSucceeded", at[1]),
             event(6, 5, "TaskStateExited", at[1], name="a"),
             event(7, 6, "TaskStateEntered", at[1], name="b"), event(8, 7, "TaskScheduled", at[1]),
             event(9, 8, "TaskStarted", at[1]), event(10, 9, "TaskFailed", at[2], error="E"),
             event(11, 10, "ExecutionFailed", at[2])]
    redrive = [{"id": 12, "previousEventId": 0, "timestamp": at[10].isoformat(), "type": "ExecutionRedriven",
                "executionRedrivenEventDetails": {"redriveCount": 1}},
               event(13, 12, "TaskStateEntered", at[10], name="a"), event(14, 13, "TaskScheduled", at[10]),
               event(15, 14, "TaskStarted", at[10]), event(16, 15, "TaskSucceeded", at[10]),
               event(17, 16, "TaskStateExited", at[10], name="a"),
               event(18, 17, "TaskStateEntered", at[10], name="b")]
    jobs = [{"job_id": "ja", "state_name": "a", "task_attempt": 1, "status": "SUCCEEDED", "log_paths": [],
             "description": {"CreatedAt": epoch_ms(at[0].isoformat())}}]
    states = derive_states(first + redrive, jobs=jobs, invocations=[], execution_status="RUNNING")
    assert states["a"].status == "SUCCEEDED" and states["b"].status == "RUNNING"
    assert [(x.run, x.reused) for x in states["a"].attempts] == [(0, False), (1, True)]
    assert [(x.run, x.status) for x in states["b"].attempts] == [(0, "FAILED")]


def test_interleaved_map_iterations_number_their_attempts_apart() -> None:
    at = [T0 + timedelta(seconds=x) for x in range(10)]
    events = [event(1, 0, "ExecutionStarted", at[0]),
              event(2, 1, "MapStateEntered", at[0], name="each"), event(3, 2, "MapStateStarted", at[0]),
              event(4, 3, "TaskStateEntered", at[0], name="work"), event(5, 3, "TaskStateEntered", at[0], name="work"),
              event(6, 4, "TaskScheduled", at[1]), event(7, 5, "TaskScheduled", at[1]),
              event(8, 7, "TaskStarted", at[1]), event(9, 8, "TaskFailed", at[2], error="E"),
              event(10, 9, "TaskScheduled", at[3]), event(11, 6, "TaskStarted", at[1]),
              event(12, 11, "TaskSucceeded", at[4])]
    work = derive_states(events, jobs=[], invocations=[], execution_status="RUNNING")["work"]
    assert work.entries == 2
    # Entry 4: attempt 1 succeeded; entry 5: attempt 1 failed, attempt 2 scheduled.
    assert sorted((a.number, a.status) for a in work.attempts) == [(1, "FAILED"), (1, "SUCCEEDED"), (2, "SCHEDULED")]


def test_critical_path_and_waits_imposed_by_the_structure() -> None:
    from orchestrator.console.timeline import Attempt, StateRun, critical_path

    def task(name: str, scheduled: float, ended: float, run: int = 0) -> StateRun:
        return StateRun(name=name, type="Task", attempts=[Attempt(number=1, run=run, scheduled_ms=ms(scheduled),
                                                                  ended_ms=ms(ended))])
    # a → b, a → c, c → d; b ended late but d only needed c: d was held back 3 s by the structure.
    states = {"a": task("a", 0, 10), "b": task("b", 10, 30), "c": task("c", 10, 12), "d": task("d", 15, 20),
              "Notify failure": task("Notify failure", 29, 40)}
    deps: dict[str, list[str]] = {"a": [], "b": ["a"], "c": ["a"], "d": ["c"]}
    path, waits = critical_path(states, deps, ms(0))
    assert path == ["a", "b"] and waits == {"d": 3000}  # the alert path is no task of the DAG
    assert critical_path({}, deps, ms(0)) == ([], {})


def test_a_parallel_ends_as_itself_not_as_its_last_branch_state() -> None:
    from orchestrator.console.timeline import enclosing

    definition = {"StartAt": "p", "States": {"p": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "q", "States": {"q": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "x", "States": {"x": {"Type": "Pass", "End": True}}}]}}},
        {"StartAt": "y", "States": {"y": {"Type": "Pass", "End": True}}}]}}}
    at = T0
    events = [event(1, 0, "ExecutionStarted", at),
              event(2, 1, "ParallelStateEntered", at, name="p"), event(3, 2, "ParallelStateStarted", at),
              event(4, 3, "ParallelStateEntered", at, name="q"), event(5, 4, "ParallelStateStarted", at),
              event(6, 5, "PassStateEntered", at, name="x"), event(7, 6, "PassStateExited", at, name="x"),
              event(8, 7, "ParallelStateSucceeded", at),  # q's end: its predecessor is x's exit
              event(9, 8, "ParallelStateExited", at, name="q"),
              event(10, 3, "PassStateEntered", at, name="y"), event(11, 10, "PassStateExited", at, name="y"),
              event(12, 9, "ParallelStateSucceeded", at),  # p's end: its predecessor is q's exit
              event(13, 12, "ParallelStateExited", at, name="p")]
    parents = enclosing(definition)
    assert parents == {"q": "p", "x": "q", "y": "p"}
    states = derive_states(events, jobs=[], invocations=[], execution_status="SUCCEEDED", parents=parents)
    assert {n: s.status for n, s in states.items()} == {"p": "SUCCEEDED", "q": "SUCCEEDED", "x": "SUCCEEDED",
                                                        "y": "SUCCEEDED"}
    failing = events[:7] + [event(8, 7, "ParallelStateFailed", at, error="E")]
    states = derive_states(failing, jobs=[], invocations=[], execution_status="RUNNING", parents=parents)
    assert states["q"].status == "FAILED" and states["x"].status == "SUCCEEDED"
