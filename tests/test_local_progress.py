"""The live progress view: rows from the definition, states from history events and job updates."""

from __future__ import annotations

from rich.console import Console

from orchestrator.local.progress import ProgressView, task_states

ARN = "arn:aws:states:us-east-1:123456789012:execution:wf:e"
DEFINITION = {
    "StartAt": "P",
    "States": {
        "P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "load", "States": {"load": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync",
                                                    "End": True}}},
            {"StartAt": "check", "States": {"check": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                                      "End": True}}}]}}}


def test_task_states_include_branches() -> None:
    assert task_states(DEFINITION) == [("load", "arn:aws:states:::batch:submitJob.sync"),
                                       ("check", "arn:aws:states:::lambda:invoke")]


def test_rows_follow_events_and_jobs() -> None:
    console = Console(record=True, width=100)
    view = ProgressView({"main": "wf", "definitions": {"wf": DEFINITION}}, console=console)
    events = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted"},
        {"id": 2, "previousEventId": 1, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "load"}},
        {"id": 3, "previousEventId": 2, "type": "TaskScheduled"},
        {"id": 4, "previousEventId": 1, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "check"}},
        {"id": 5, "previousEventId": 4, "type": "TaskScheduled"},
        {"id": 6, "previousEventId": 5, "type": "TaskFailed"},
    ]
    for event in events:
        view.on_event(ARN, event)
    view.on_job({"JobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/etl", "Status": "RUNNABLE",
                 "Attempts": []}, ARN, "load")
    assert (view.rows["load"].status, view.rows["load"].queue) == ("RUNNABLE", "etl")
    assert (view.rows["check"].status, view.rows["check"].attempt) == ("FAILED", 1)
    view.on_event(ARN, {"id": 7, "previousEventId": 6, "type": "ExecutionFailed"})
    assert view.status == "FAILED"
    console.print(view.render())
    text = console.export_text()
    assert "execution: FAILED" in text and "RUNNABLE" in text and "etl" in text


def test_reused_tasks_show_as_reused() -> None:
    view = ProgressView({"main": "wf", "definitions": {"wf": DEFINITION}}, console=Console(record=True))
    view.on_event(ARN, {"id": 2, "previousEventId": 1, "type": "TaskStateEntered",
                        "stateEnteredEventDetails": {"name": "load"}})
    view.on_event(ARN, {"id": 3, "previousEventId": 2, "type": "TaskScheduled"})
    view.on_reuse("load")
    view.on_event(ARN, {"id": 4, "previousEventId": 3, "type": "TaskSucceeded"})
    assert view.rows["load"].status == "REUSED"


def test_attempt_is_the_task_states_attempt_with_batchs_own_inside() -> None:
    console = Console(record=True, width=100)
    view = ProgressView({"main": "wf", "definitions": {"wf": DEFINITION}}, console=console)
    for event in [
        {"id": 2, "previousEventId": 1, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "load"}},
        {"id": 3, "previousEventId": 2, "type": "TaskScheduled"},
        {"id": 4, "previousEventId": 3, "type": "TaskStarted"},
        {"id": 5, "previousEventId": 4, "type": "TaskFailed"},
        {"id": 6, "previousEventId": 5, "type": "TaskScheduled"},  # the Retry's second attempt
    ]:
        view.on_event(ARN, event)
    assert view.rows["load"].attempt == 2
    view.on_job({"JobQueue": "q", "Status": "RUNNING", "Attempts": [{}, {}]}, ARN, "load")
    console.print(view.render())
    assert "2 (Batch: 3)" in console.export_text()
    # A Map runs the state again in each iteration: each entry starts again at attempt 1.
    view.on_event(ARN, {"id": 7, "previousEventId": 1, "type": "TaskStateEntered",
                        "stateEnteredEventDetails": {"name": "load"}})
    view.on_event(ARN, {"id": 8, "previousEventId": 7, "type": "TaskScheduled"})
    assert view.rows["load"].attempt == 1


def test_a_large_workflow_shows_the_tasks_not_done_and_counts_the_rest() -> None:
    from orchestrator.local.progress import SHOWN_ROWS_MAX

    states = {f"t{i}": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": f"t{i + 1}"}
              for i in range(SHOWN_ROWS_MAX + 10)}
    states[f"t{SHOWN_ROWS_MAX + 10}"] = {"Type": "Succeed"}
    console = Console(record=True, width=120)
    view = ProgressView({"main": "wf", "definitions": {"wf": {"StartAt": "t0", "States": states}}}, console=console)
    event_id = 1
    for i in range(5):  # t0..t3 succeed, t4 is running
        view.on_event(ARN, {"id": event_id + 1, "previousEventId": event_id, "type": "TaskStateEntered",
                            "stateEnteredEventDetails": {"name": f"t{i}"}})
        view.on_event(ARN, {"id": event_id + 2, "previousEventId": event_id + 1, "type": "TaskScheduled"})
        if i < 4:
            view.on_event(ARN, {"id": event_id + 3, "previousEventId": event_id + 2, "type": "TaskSucceeded"})
        event_id += 3
    console.print(view.render())
    text = console.export_text()
    shown = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert shown == ["t4"]
    assert (f"{SHOWN_ROWS_MAX + 10} tasks: 1 RUNNING, 4 SUCCEEDED, {SHOWN_ROWS_MAX + 5} WAITING; "
            f"{SHOWN_ROWS_MAX + 9} done or not started are not listed") in " ".join(text.split())
