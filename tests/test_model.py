"""The frozen model: immutability, placement of Python tasks, lookups."""

from __future__ import annotations

import dataclasses

import pytest

from orchestrator import limits, model


def test_frozen_and_replace() -> None:
    job = model.BatchJob(image="postgres:16", command=("vacuumdb", "--all"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.image = "other"  # type: ignore[misc]
    assert dataclasses.replace(job, vcpus=2.0).vcpus == 2.0


def test_mappings_are_read_only_copies() -> None:
    env = {"MODE": "full"}
    job = model.BatchJob(image="x", environment=env)
    env["MODE"] = "changed"
    assert job.environment["MODE"] == "full"
    with pytest.raises(TypeError):
        job.environment["MODE"] = "x"  # type: ignore[index]
    assert model.BatchJob(image="x", environment={"A": "1"}) == model.BatchJob(image="x", environment={"A": "1"})


def test_empty_mappings_are_one_shared_read_only_mapping() -> None:
    jobs = [model.BatchJob(image="x"), model.BatchJob(image="y", environment={}, secrets=None),
            model.LambdaTask(handler="a:b"), model.PythonTask(function="a:b", environment={})]
    maps = [job.environment for job in jobs] + [jobs[0].secrets, model.Workflow(name="w", tasks=()).tags]
    assert all(m is maps[0] for m in maps) and maps[0] == {}
    with pytest.raises(TypeError):
        maps[0]["A"] = "1"  # type: ignore[index]
    assert model.BatchJob(image="x", environment={"A": "1"}).environment is not maps[0]


@pytest.mark.parametrize(
    ("job", "timeout", "runs_on"),
    [
        (model.BatchJob(image="x"), None, "batch"),
        (model.LambdaTask(handler="m:f"), 60, "lambda"),
        (model.PythonTask(function="m:f"), None, "lambda"),
        (model.PythonTask(function="m:f"), limits.LAMBDA_MAX_TIMEOUT, "lambda"),
        (model.PythonTask(function="m:f"), limits.LAMBDA_MAX_TIMEOUT + 1, "batch"),
    ],
)
def test_runs_on(job: model.Job, timeout: int | None, runs_on: str) -> None:
    assert model.Task(name="t", job=job, timeout=timeout).runs_on == runs_on


def test_task_lookup_and_dependencies() -> None:
    wf = model.Workflow(name="w", tasks=(
        model.Task(name="a", job=model.BatchJob(image="x")),
        model.Task(name="b", job=model.BatchJob(image="x"), after=("a",)),
    ))
    assert wf.task("b").after == ("a",)
    assert wf.dependencies == {"a": (), "b": ("a",)}
    with pytest.raises(KeyError):
        wf.task("c")
    assert wf.defaults == model.Defaults() and wf.queues == ()
