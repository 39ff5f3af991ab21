"""Task rendering: Batch and Lambda parameters, placeholders, retries and timeouts."""

from __future__ import annotations

from typing import Any

import pytest
from compiler_support import batch, lam

from orchestrator import model
from orchestrator.compiler import tasks
from orchestrator.errors import CompileError


def render(task: model.Task, **wf: Any) -> dict[str, Any]:
    workflow = model.Workflow(name="wf", tasks=(task,), **wf)
    return tasks.render_task(task, workflow, next=None, catch_to="Describe failure").render()


class TestBatch:
    def test_parameters(self) -> None:
        job = model.BatchJob(image="i", command=("a", "b"), vcpus=0.5, memory=1024, environment={"K": "V"})
        state = render(model.Task(name="load-db", job=job, timeout=120), tags={"team": "data"})
        assert state["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        p = state["Parameters"]
        # Only what varies per run or is SubmitJob's own; the rest is in the job definition.
        assert list(p) == ["JobName", "JobQueue", "JobDefinition", "ContainerOverrides", "Tags"]
        assert p["JobName"] == "load-db"
        assert p["JobQueue"] == "${JobQueue_default}"
        assert p["JobDefinition"] == "${JobDefinition_load-db}"
        assert p["ContainerOverrides"] == {
            "Environment": [
                {"Name": "ORCHESTRATOR_EXECUTION_ID", "Value.$": "$$.Execution.Id"},
                {"Name": "ORCHESTRATOR_EXECUTION_NAME", "Value.$": "$$.Execution.Name"},
                {"Name": "ORCHESTRATOR_SCHEDULED_TIME", "Value.$": "$.input.scheduled_time"},
            ]
        }
        assert p["Tags"] == {
            "team": "data",
            "orchestrator:workflow": "wf",
            "orchestrator:task": "load-db",
            "orchestrator:execution.$": "$$.Execution.Name",
        }
        assert state["ResultSelector"] == {"JobId.$": "$.JobId", "Status.$": "$.Status"}
        assert state["ResultPath"] == "$.results['load-db']"
        assert state["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failed['load-db']", "Next": "Describe failure"}
        ]

    def test_job_definition_carries_the_static_settings(self) -> None:
        job = model.BatchJob(image="i", command=("a", "b"), vcpus=0.5, memory=1024, environment={"K": "V"})
        task = model.Task(name="load-db", job=job, timeout=120)
        wf = model.Workflow(name="wf", tasks=(task,))
        settings = tasks.job_definition(task, wf)
        assert settings.image == "i" and settings.command == ("a", "b")
        assert (settings.vcpus, settings.memory) == (0.5, 1024)
        assert dict(settings.environment) == {"K": "V", "ORCHESTRATOR_WORKFLOW": "wf", "ORCHESTRATOR_TASK": "load-db"}
        assert settings.attempt_seconds == 120
        assert settings.retry_attempts == tasks.SPOT_RETRY_ATTEMPTS
        assert settings.evaluate_on_exit[0] == {"OnStatusReason": "Host EC2*", "Action": "RETRY"}
        assert settings.evaluate_on_exit[-1] == {"OnReason": "*", "Action": "EXIT"}
        with pytest.raises(CompileError, match=r"^Task 'f' is a Lambda task and cannot run on Batch\.$"):
            tasks.job_definition(lam("f"), wf)

    def test_timeouts_cover_every_batch_attempt(self) -> None:
        task = batch("t", timeout=30)
        wf = model.Workflow(name="wf", tasks=(task,))
        assert tasks.job_definition(task, wf).attempt_seconds == 60  # Batch minimum
        state = render(task)
        assert "Timeout" not in state["Parameters"]
        assert state["TimeoutSeconds"] == (60 + tasks.BATCH_ATTEMPT_MARGIN) * tasks.SPOT_RETRY_ATTEMPTS
        no_timeout = render(batch("t"))
        assert "TimeoutSeconds" not in no_timeout
        assert tasks.job_definition(batch("t"), wf).attempt_seconds is None

    def test_defaults_timeout_and_queue(self) -> None:
        task = batch("t")
        defaults = model.Defaults(timeout=600, queue="bulk")
        state = render(task, defaults=defaults)
        assert state["Parameters"]["JobQueue"] == "${JobQueue_bulk}"
        wf = model.Workflow(name="wf", tasks=(task,), defaults=defaults)
        assert tasks.job_definition(task, wf).attempt_seconds == 600

    def test_array_job(self) -> None:
        job = model.BatchJob(image="i", array_size=50, queue="q")
        state = render(model.Task(name="fan", job=job))
        assert state["Parameters"]["ArrayProperties"] == {"Size": 50}
        assert state["Parameters"]["JobQueue"] == "${JobQueue_q}"
        assert "Command" not in state["Parameters"]["ContainerOverrides"]

    def test_python_task_over_15_minutes_runs_the_runner_on_batch(self) -> None:
        job = model.PythonTask(function="pkg.mod:main", vcpus=2, memory=4096)
        task = model.Task(name="py", job=job, timeout=3600)
        state = render(task)
        assert state["Resource"] == "arn:aws:states:::batch:submitJob.sync"
        settings = tasks.job_definition(task, model.Workflow(name="wf", tasks=(task,), defaults=model.Defaults(image="py:3")))
        assert settings.command == ("python", "-m", "orchestrator.batch_entry", "pkg.mod:main")
        assert settings.image == "py:3"

    def test_api_retrier_then_user_retrier_with_states_all_last(self) -> None:
        retry = model.Retry(attempts=4, interval=5, backoff_rate=1.5, max_delay=60, jitter=model.Jitter.FULL)
        state = render(batch("t", retry=retry))
        assert [r["ErrorEquals"] for r in state["Retry"]] == [list(tasks.BATCH_API_ERRORS), ["States.ALL"]]
        assert state["Retry"][0]["JitterStrategy"] == "FULL"
        assert state["Retry"][1] == {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": 5,
            "MaxAttempts": 4,
            "BackoffRate": 1.5,
            "MaxDelaySeconds": 60,
            "JitterStrategy": "FULL",
        }

    def test_specific_user_errors_go_first(self) -> None:
        state = render(batch("t", retry=model.Retry(errors=("Custom.Error",))))
        assert [r["ErrorEquals"] for r in state["Retry"]] == [["Custom.Error"], list(tasks.BATCH_API_ERRORS)]

    def test_zero_attempts_means_no_user_retrier(self) -> None:
        assert len(render(batch("t", retry=model.Retry(attempts=0)))["Retry"]) == 1

    def test_what_tasks_of_one_kind_share_follows_each_workflow(self) -> None:
        """One task's queue, timeout, retries, tags and overrides follow each workflow it is in,
        and no state shares a dict with another."""
        job = model.BatchJob(image="i", command=("run", "{{ date }}"))
        task = model.Task(name="t", job=job)
        first = render(task, tags={"team": "a"})
        assert first["Parameters"]["Tags"]["team"] == "a"
        assert render(task, tags={"team": "b"})["Parameters"]["Tags"]["team"] == "b"
        queued = render(task, tags={"team": "a"}, defaults=model.Defaults(queue="fast", timeout=100,
                                                                             retry=model.Retry(attempts=2)))
        assert queued["Parameters"]["JobQueue"] == "${JobQueue_fast}"
        assert queued["TimeoutSeconds"] == (100 + tasks.BATCH_ATTEMPT_MARGIN) * tasks.SPOT_RETRY_ATTEMPTS
        assert [r.get("MaxAttempts") for r in queued["Retry"]] == [3, 2]  # the service retrier, then the catch-all
        assert "TimeoutSeconds" not in render(task, tags={"team": "a"})
        again = render(task, tags={"team": "a"})
        assert again == first
        assert again["Parameters"]["ContainerOverrides"] is not first["Parameters"]["ContainerOverrides"]
        assert again["Parameters"]["ContainerOverrides"]["Command.$"].startswith("States.Array(")


class TestLambda:
    def test_parameters(self) -> None:
        state = render(lam("check", after=("load-db", "x")))
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        params = state["Parameters"]
        assert params["FunctionName"] == "${Function_check}"
        payload = params["Payload"]
        assert payload["execution"] == {
            "Id.$": "$$.Execution.Id",
            "Name.$": "$$.Execution.Name",
            "StartTime.$": "$$.Execution.StartTime",
        }
        assert payload["input.$"] == "$.input"
        assert payload["task"] == "check" and payload["handler"] == "m:f"
        assert payload["upstream"] == {"load-db.$": "$.results['load-db']", "x.$": "$.results.x"}
        assert state["ResultSelector"] == {"Payload.$": "$.Payload"}
        assert state["Retry"][0] == {
            "ErrorEquals": list(tasks.LAMBDA_API_ERRORS),
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2,
            "JitterStrategy": "FULL",
        }

    def test_timeout_is_function_timeout_plus_margin(self) -> None:
        assert render(lam("t", timeout=60))["TimeoutSeconds"] == 60 + tasks.LAMBDA_TIMEOUT_MARGIN
        assert render(lam("t"))["TimeoutSeconds"] == 900 + tasks.LAMBDA_TIMEOUT_MARGIN

    def test_short_python_task_runs_on_lambda(self) -> None:
        state = render(model.Task(name="py", job=model.PythonTask(function="m:f"), timeout=60))
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        assert state["Parameters"]["Payload"]["function"] == "m:f"


class TestNames:
    def test_placeholders(self) -> None:
        assert tasks.placeholder("Function", "a_b-c") == "${Function_a_b-c}"
        odd = tasks.placeholder("Function", "a.b")
        assert odd.startswith("${Function_a_b_") and odd != tasks.placeholder("Function", "a_b")

    def test_job_name_is_batch_safe(self) -> None:
        assert tasks.job_name("-x.y") == "j-x_y"
        assert len(tasks.job_name("a" * 200)) == 128

    def test_child_machines_run_with_sync_v2(self) -> None:
        state = tasks.child_task("call", "wf-part-1", needs=(), next=None, catch_to=None, catch_path="$.e").render()
        assert state["Resource"] == "arn:aws:states:::states:startExecution.sync:2"


# -- kinds ------------------------------------------------------------------------------------------


def test_tasks_with_equal_jobs_of_their_own_share_one_kind() -> None:
    # A spec read from a file gives every task a job object of its own.
    def job(**fields: Any) -> model.BatchJob:
        return model.BatchJob(image="img:1", command=("run",), **fields)

    named = {
        "a1": job(), "b2": job(), "c3": job(queue="fast"), "d4": job(environment={"DAY": "{{ ds }}"}),
        "e5": job(environment={"DAY": "{{ ds }}"}), "f6": job(environment={"PLAIN": "x"}),
    }
    kinds = tasks.kinds_of([model.Task(name=name, job=j) for name, j in named.items()])
    assert kinds["a1"] is kinds["b2"] is kinds["f6"]  # a plain environment lives in the job definition
    assert kinds["d4"] is kinds["e5"]
    assert len({id(kinds[name]) for name in named}) == 3
    for name in named:
        alone = tasks.kind_key(model.Task(name=name, job=named[name]))
        assert kinds[name] == alone


def test_kinds_keep_apart_what_the_state_shows() -> None:
    job = model.BatchJob(image="img:1")
    retry = model.Retry(attempts=2)
    kinds = tasks.kinds_of([
        model.Task(name="a1", job=job), model.Task(name="a2", job=job, retry=retry),
        model.Task(name="abc", job=job), model.Task(name="a.1", job=job),
        model.Task(name="fn", job=model.LambdaTask(handler="m:f")),
    ])
    assert kinds["a1"] is not kinds["a2"] and kinds["a1"] is not kinds["abc"]
    assert kinds["a.1"] is None and kinds["fn"] is None
