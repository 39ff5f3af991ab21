"""Shared helpers for the compiler tests: the ASL schema, structure checks, and two runners.

* :func:`run_in_engine` runs a compiled workflow in the embedded engine with fake Batch, Lambda,
  SNS and child-execution integrations (used for failure paths: the alert states are JSONata,
  which moto's interpreter can only evaluate with Java installed).
* :func:`run_in_moto` runs it in moto's Step Functions interpreter against moto's Batch and
  Lambda. moto's port of the interpreter leaves out the request/response case normalisation
  for Batch (``JobName`` → ``jobName``), so :func:`_patch_moto_batch` puts it back using
  botocore's service model, and ``aws_fixtures.moto_start_time_as_text`` gives ``$$.Execution.StartTime`` the
  ISO-8601 text AWS has instead of a datetime; nothing else about the definitions is changed.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from aws_fixtures import moto_start_time_as_text

from orchestrator import model
from orchestrator.compiler import CompileResult

HERE = Path(__file__).parent
SCHEMA = json.loads((HERE / "asl.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CHILD_RESOURCE = "arn:aws:states:::states:startExecution.sync:2"


def schema_errors(definition: Mapping[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(definition)]


def lam(name: str, after: tuple[str, ...] = (), **kw: Any) -> model.Task:
    return model.Task(name=name, job=model.LambdaTask(handler="m:f"), after=after, **kw)


def batch(name: str, after: tuple[str, ...] = (), **kw: Any) -> model.Task:
    return model.Task(name=name, job=model.BatchJob(image="img", command=("run", name)), after=after, **kw)


def iter_states(graph: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, state in graph["States"].items():
        yield name, state
        for branch in state.get("Branches", ()):
            yield from iter_states(branch)


def task_states(result: CompileResult) -> list[str]:
    """Names of the Task states that run DAG tasks, over every machine."""
    return [
        name
        for definition in result.definitions.values()
        for name, state in iter_states(definition)
        if state["Type"] == "Task"
        and not state["Resource"].startswith("arn:aws:states:::states:")
        and not state["Resource"].startswith("arn:aws:states:::sns:")
        and not state["Resource"].startswith("arn:aws:states:::aws-sdk:sfn:")
        and not state["Resource"].startswith("arn:aws:states:::aws-sdk:cloudwatchlogs:")
        and not state["Resource"].startswith("arn:aws:states:::aws-sdk:sfn:")
    ]


def child_of(state: Mapping[str, Any]) -> str:
    """The child machine a startExecution state runs, read from its placeholder."""
    arn = state["Parameters"]["StateMachineArn"]
    assert arn.startswith("${StateMachine_") and arn.endswith("}")
    return arn[len("${StateMachine_") : -1]


def done_before(result: CompileResult) -> dict[str, frozenset[str]]:
    """For each task, the tasks certainly finished when it starts, read off the structure."""
    before: dict[str, frozenset[str]] = {}

    def chain(graph: Mapping[str, Any], done: frozenset[str]) -> frozenset[str]:
        name: str | None = graph["StartAt"]
        while name is not None:
            state = graph["States"][name]
            if state["Type"] == "Parallel":
                done = done.union(*(chain(b, done) for b in state["Branches"]))
            elif state["Type"] == "Task" and state["Resource"] == CHILD_RESOURCE:
                done = chain(result.definitions[child_of(state)], done)
            elif state["Type"] == "Task" and not state["Resource"].startswith("arn:aws:states:::aws-sdk:sfn:"):
                before[name] = done
                done = done | {name}
            name = state.get("Next") or state.get("Default")  # the overlap guard's Choice goes on by Default
        return done

    chain(result.definitions[result.main], frozenset())
    return before


def assert_dependencies_hold(wf: model.Workflow, result: CompileResult) -> None:
    before = done_before(result)
    assert set(before) == {t.name for t in wf.tasks}
    for task in wf.tasks:
        missing = set(task.after) - before[task.name]
        assert not missing, f"{task.name} may start before {sorted(missing)}"


# -- the embedded engine ---------------------------------------------------------------------


@dataclass
class FakeAws:
    """Integrations for the engine: Batch/Lambda succeed unless listed in ``fail``."""

    result: CompileResult
    fail: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # task -> (error, cause)
    sns_fails: bool = False
    published: list[Mapping[str, Any]] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    payloads: dict[str, Any] = field(default_factory=dict)  # Lambda task -> Payload it received
    submitted: dict[str, Any] = field(default_factory=dict)  # Batch task -> SubmitJob parameters
    logs: Mapping[str, list[str]] = field(default_factory=dict)  # log stream -> its lines (CloudWatch Logs)
    log_reads: list[Mapping[str, Any]] = field(default_factory=list)
    previous: str | None = None  # the status of this machine's execution before this one (listExecutions)

    def integrations(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "aws-sdk:sfn:listExecutions": self.list_executions,
            "batch:submitJob": self.batch,
            "lambda:invoke": self.lam,
            "sns:publish": self.sns,
            "states:startExecution": self.child,
            "aws-sdk:cloudwatchlogs:getLogEvents": self.read_log,
        }

    def list_executions(self, call: Any) -> Any:
        if call.parameters.get("StatusFilter") == "RUNNING":  # the overlap guard: only this one runs
            return {"Executions": [{"ExecutionArn": call.execution_arn, "Status": "RUNNING"}]}
        runs = [{"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:m:run-1", "Status": "RUNNING"}]
        if self.previous is not None:
            runs.append({"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:m:run-0",
                         "Status": self.previous})
        return {"Executions": runs[:call.parameters["MaxResults"]]}

    def read_log(self, call: Any) -> Any:
        from orchestrator.engine import TaskFailure

        self.log_reads.append(call.parameters)
        lines = self.logs.get(call.parameters["LogStreamName"])
        if lines is None:
            raise TaskFailure("CloudWatchLogs.ResourceNotFoundException", "The specified log stream does not exist.")
        kept = lines[-call.parameters["Limit"]:]
        return {"Events": [{"Timestamp": 1, "Message": line, "IngestionTime": 1} for line in kept]}

    def _maybe_fail(self, task: str) -> None:
        from orchestrator.engine import TaskFailure

        self.started.append(task)
        if task in self.fail:
            raise TaskFailure(*self.fail[task])

    def batch(self, call: Any) -> Any:
        self.submitted[call.state_name] = call.parameters
        if call.submitted is not None:  # SubmitJob answered: the engine records TaskSubmitted
            call.submitted({"JobId": f"job-{call.state_name}", "JobName": call.parameters["JobName"]})
        self._maybe_fail(call.state_name)
        return {
            "JobId": f"job-{call.state_name}",
            "JobName": call.parameters["JobName"],
            "Status": "SUCCEEDED",
        }

    def lam(self, call: Any) -> Any:
        self.payloads[call.state_name] = call.parameters["Payload"]
        self._maybe_fail(call.state_name)
        return {"StatusCode": 200, "Payload": {"task": call.parameters["Payload"]["task"]}}

    def sns(self, call: Any) -> Any:
        from orchestrator.engine import TaskFailure

        if self.sns_fails:
            raise TaskFailure("SNS.InternalErrorException", "SNS is down")
        self.published.append(call.parameters)
        return {"MessageId": "m-1"}

    def child(self, call: Any) -> Any:
        from orchestrator.engine import TaskFailure, execute

        if call.submitted is not None:
            call.submitted({"ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:child:1"})
        name = call.parameters["StateMachineArn"][len("${StateMachine_") : -1]
        run = execute(
            self.result.definitions[name],
            call.parameters["Input"],
            virtual_time=True,
            integrations=self.integrations(),
            execution_name=f"child-{name}",
        )
        if run.status != "SUCCEEDED":
            # What DescribeExecution returns for a failed child: startExecution.sync fails with
            # States.TaskFailed and that output as the Cause.
            raise TaskFailure(
                "States.TaskFailed",
                json.dumps({"Status": run.status, "Error": run.error, "Cause": run.cause}),
            )
        return {"Status": "SUCCEEDED", "Output": run.output}


def run_in_engine(result: CompileResult, input: Any = None, **fake: Any) -> tuple[Any, FakeAws]:
    from orchestrator.engine import execute

    aws = FakeAws(result, **fake)
    run = execute(
        result.definitions[result.main],
        input if input is not None else {"day": "2024-01-01"},
        virtual_time=True,
        integrations=aws.integrations(),
        execution_name="run-1",
    )
    return run, aws


# -- moto ------------------------------------------------------------------------------------


def _patch_moto_batch() -> None:
    """Restore request/response case normalisation for Batch and Step Functions in moto."""
    from botocore.session import get_session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_batch as batch_service,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn_service,
    )

    session = get_session()

    def operation(self: Any, service: str | None, action: str | None) -> Any:
        name = action or self.resource.api_action
        op = "".join(p[:1].upper() + p[1:] for p in name.split("_"))
        return session.get_service_model(self._get_boto_service_name(service)).operation_model(op)

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        self._to_boto_request(parameters, operation(self, boto_service_name, service_action_name).input_shape)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        self._from_boto_response(
            response, operation(self, boto_service_name, service_action_name).output_shape
        )

    for cls in (batch_service.StateTaskServiceBatch, sfn_service.StateTaskServiceSfn):
        if getattr(cls, "_orchestrator_patched", False):
            continue
        cls._normalise_parameters = normalise_parameters
        cls._normalise_response = normalise_response
        cls._orchestrator_patched = True


MOTO_CONFIG = {
    "stepfunctions": {"execute_state_machine": True},
    "batch": {"use_docker": False},
    "lambda": {"use_docker": False},
}


def run_in_moto(
    result: CompileResult, input: Any, region: str = "us-east-1"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Deploy every machine with placeholders substituted by moto ARNs; run the main one."""
    import boto3
    from moto import mock_aws

    _patch_moto_batch()
    moto_start_time_as_text()
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        iam = boto3.client("iam", region_name=region)
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        batch_client = boto3.client("batch", region_name=region)
        lambda_client = boto3.client("lambda", region_name=region)
        sfn = boto3.client("stepfunctions", region_name=region)
        env = batch_client.create_compute_environment(
            computeEnvironmentName="orchestrator-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
        )["computeEnvironmentArn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("f.py", "def h(event, context):\n    return event\n")
        subs: dict[str, str] = {}
        for placeholder in sorted(result.placeholders):
            key = placeholder[2:-1]
            kind, _, name = key.partition("_")
            if kind == "JobQueue":
                subs[placeholder] = batch_client.create_job_queue(
                    jobQueueName=f"q-{len(subs)}",
                    state="ENABLED",
                    priority=1,
                    computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env}],
                )["jobQueueArn"]
            elif kind == "JobDefinition":
                subs[placeholder] = batch_client.register_job_definition(
                    jobDefinitionName=f"jd-{len(subs)}",
                    type="container",
                    containerProperties={"image": "img", "vcpus": 1, "memory": 2048},
                )["jobDefinitionArn"]
            elif kind == "Function":
                subs[placeholder] = lambda_client.create_function(
                    FunctionName=f"fn-{len(subs)}",
                    Runtime="python3.11",
                    Role=role,
                    Handler="f.h",
                    Code={"ZipFile": code.getvalue()},
                )["FunctionArn"]
            elif kind == "AlertTopicArn":
                subs[placeholder] = boto3.client("sns", region_name=region).create_topic(Name="alerts")[
                    "TopicArn"
                ]
        # Children first, so their ARNs can be substituted into their parents.
        for name in reversed(list(result.texts)):
            text = result.texts[name]
            for key, value in subs.items():
                text = text.replace(key, value)
            arn = sfn.create_state_machine(name=name, definition=text, roleArn=role)["stateMachineArn"]
            subs["${StateMachine_" + name + "}"] = arn
        main = subs["${StateMachine_" + result.main + "}"]
        execution = sfn.start_execution(stateMachineArn=main, name="run-1", input=json.dumps(input))[
            "executionArn"
        ]
        deadline = time.monotonic() + 20
        described = sfn.describe_execution(executionArn=execution)
        while described["status"] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.02)
            described = sfn.describe_execution(executionArn=execution)
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = sfn.get_execution_history(
                executionArn=execution, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                break
        return described, events
