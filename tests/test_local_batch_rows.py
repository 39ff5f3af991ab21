"""Local Batch's stored job rows: a status is stored where a job can stay in it, and the row a
finished job leaves is the description its ``.sync`` call returns."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from orchestrator.arns import IntegrationPattern
from orchestrator.local.batch import ComputeEnvironment, JobDefinition
from tests.test_local_batch import call, eventually, make, submit

ARN = "arn:aws:states:us-east-1:123456789012:execution:wf:e1"


def _rows(batch: Any) -> dict[str, dict[str, Any]]:
    return {row["job_id"]: row for row in batch.store.jobs(ARN)}


def test_a_finished_sync_job_row_is_the_description_the_call_returns(tmp_path: Path) -> None:
    batch, updates = make(tmp_path, JobDefinition(name="jd", command=("true",)))
    job = batch(call(submit()))
    row = _rows(batch)[job["JobId"]]
    assert row["description"] == job and row["status"] == "SUCCEEDED" and row["attempts"] == 1
    # Every status still reaches the listener (the progress view), stored or not.
    assert [u["Status"] for u in updates] == ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]


def test_a_job_waiting_for_capacity_is_stored_as_runnable(tmp_path: Path) -> None:
    gate = tmp_path / "go"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.01; done")),
                    compute=[ComputeEnvironment("local", vcpus=1, memory=4096)])
    first = batch(call(submit(), pattern=IntegrationPattern.REQUEST_RESPONSE))
    eventually(lambda: _rows(batch).get(first["JobId"], {}).get("status") == "RUNNING")
    results: list[dict[str, Any]] = []
    waiting = threading.Thread(target=lambda: results.append(batch(call(submit(name="second")))))
    waiting.start()
    eventually(lambda: any(r["job_name"] == "second" and r["status"] == "RUNNABLE" for r in _rows(batch).values()))
    gate.touch()
    waiting.join(10)
    assert results and results[0]["Status"] == "SUCCEEDED"
    assert _rows(batch)[results[0]["JobId"]]["status"] == "SUCCEEDED"


def test_a_job_waiting_for_its_dependency_is_stored_as_submitted(tmp_path: Path) -> None:
    gate = tmp_path / "go"
    batch, _ = make(tmp_path, JobDefinition(name="jd", command=("sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.01; done")))
    first = batch(call(submit(), pattern=IntegrationPattern.REQUEST_RESPONSE))
    results: list[dict[str, Any]] = []
    dependent = submit(name="after", DependsOn=[{"JobId": first["JobId"]}])
    waiting = threading.Thread(target=lambda: results.append(batch(call(dependent))))
    waiting.start()
    eventually(lambda: any(r["job_name"] == "after" and r["status"] == "SUBMITTED" for r in _rows(batch).values()))
    gate.touch()
    waiting.join(10)
    assert results and results[0]["Status"] == "SUCCEEDED"
