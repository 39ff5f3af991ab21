"""``Service``: the Step Functions API operations over the local store and the local services.

Each operation is a snake_case method taking the API's request dict and returning its response
dict (botocore's shapes: camelCase members, dates as epoch seconds), or raising ``ServiceError``
with AWS's error code. ``call(operation, request)`` first checks the request against botocore's
model (``shapes``), then dispatches through the one table ``OPERATIONS``; the HTTP endpoint,
the scheduler and the console all go through it, so they cannot disagree.

State machines live in the store (``state_machines``): the project workflows ``serve`` was given
(compiled, children included, each with the plan that runs it on the local Batch, Lambda and SNS
services), those created through the API (plain ASL), and those ``orchestrator run`` registered.
Executions are the store's ``executions`` rows — the same ones ``orchestrator executions``,
``logs`` and ``redrive`` read — and run in the background (``runs.start_plan``), all sharing one
local Batch capacity.

    >>> import tempfile, json
    >>> service = Service(home=tempfile.mkdtemp())
    >>> arn = service.call("CreateStateMachine", {
    ...     "name": "hello", "roleArn": "arn:aws:iam::123456789012:role/r",
    ...     "definition": json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})}
    ...     )["stateMachineArn"]
    >>> run = service.start_execution({"stateMachineArn": arn, "name": "first", "input": '{"a": 1}'})
    >>> service.wait(run["executionArn"], 10)["output"]
    '{"a":1}'
    >>> service.close()
    []
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator import model
from orchestrator.engine import StatesError, send_task_failure, send_task_heartbeat, send_task_success
from orchestrator.engine.validate import validate_definition
from orchestrator.errors import DefinitionError, OrchestratorError
from orchestrator.limits import TAGS_MAX
from orchestrator.local.batch import Capacity, ComputeEnvironment
from orchestrator.local.lambda_ import LocalLambda
from orchestrator.local.mocks import MockCase, MockConfig
from orchestrator.local.runs import (
    RUNNER_DIED,
    BackgroundRun,
    RedriveError,
    check_redrivable,
    compile_plan,
    plain_plan,
    plan_lambda,
    reconcile,
    register_plan,
    select_test_case,
    start_plan,
    state_machine_arn,
)
from orchestrator.local.store import ExecutionRow, StateMachineRow, Store
from orchestrator.server.common import (
    DEFAULT_PAGE,
    api_event,
    arn_parts,
    check_name,
    check_role,
    epoch,
    json_text,
    now_iso,
    paged,
    paginate,
    parse_definition,
)
from orchestrator.server.errors import ServiceError
from orchestrator.server.shapes import ApiModel

# A redrive is possible within 14 days of the execution's stop (RedriveExecution's rule).
REDRIVE_WINDOW_SECONDS = 14 * 24 * 3600
# Express workflows run for at most five minutes (StartSyncExecution's limit).
EXPRESS_MAX_SECONDS = 300
SERVER_STOPPED_CAUSE = ("The local server (pid {pid}) stopped before the execution finished. "
                        "`orchestrator redrive {name}` finishes it without re-running completed tasks.")
_TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedWorkflow:
    """A project workflow the service runs: its model and the ARN of its (main) state machine."""

    workflow: model.Workflow
    state_machine_arn: str
    path: str


# -- the service ---------------------------------------------------------------------------------


class Service:
    """The Step Functions API over one local store, one Batch capacity, and the served workflows.

    ``mock_config`` is a Step Functions Local MockConfigFile (``SFN_MOCK_CONFIG``); a StartExecution
    of ``<stateMachineArn>#<TestCase>`` runs that test case's mocked responses.
    """

    def __init__(self, store: Store | None = None, *, home: str | os.PathLike[str] | None = None,
                 mock_config: MockConfig | str | os.PathLike[str] | None = None,
                 compute: list[ComputeEnvironment] | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        self.store = store if store is not None else Store(home)
        self.api = ApiModel.load()
        self.capacity = Capacity(compute)
        self.mock_config = (mock_config if isinstance(mock_config, MockConfig) or mock_config is None
                            else MockConfig.load(mock_config))
        self._notice = notice
        self._lock = threading.RLock()
        self._runs: dict[str, BackgroundRun] = {}
        self._served: list[ServedWorkflow] = []
        # One local Lambda per state machine revision with functions: its warm workers serve
        # every execution of that machine instead of each execution starting its own.
        self._lambdas: dict[tuple[str, str], LocalLambda] = {}
        self._closed = False
        reconcile(self.store)

    # -- the seam for the scheduler, the console and the endpoint --------------------------------

    def call(self, operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``request`` against botocore's model, then run ``operation`` (e.g. "StartExecution")."""
        method = OPERATIONS.get(operation)
        if method is None:
            if operation in self.api.operations:
                raise ServiceError("UnknownOperationException",
                                   f"AWSStepFunctions.{operation} is not implemented by the local endpoint.")
            raise ServiceError("UnknownOperationException", f"Unknown operation: AWSStepFunctions.{operation}")
        params = dict(request)
        self.api.validate(operation, params)
        return method(self, params)

    def serve(self, paths: Sequence[str | os.PathLike[str]], *, cwd: str | None = None) -> list[ServedWorkflow]:
        """Compile every workflow in ``paths`` and register its state machines (children included)."""
        from orchestrator.spec import load_all

        served = []
        for path in paths:
            for wf in load_all(path):
                plan = compile_plan(wf, cwd or os.getcwd())
                register_plan(self.store, plan)
                served.append(ServedWorkflow(workflow=wf, state_machine_arn=state_machine_arn(str(plan["main"])),
                                             path=str(path)))
        with self._lock:
            self._served.extend(served)
        return served

    def served_workflows(self) -> list[ServedWorkflow]:
        """Each served project workflow: its ``model.Workflow`` and its state machine ARN."""
        with self._lock:
            return list(self._served)

    def wait(self, execution_arn: str, timeout: float | None = None) -> dict[str, Any]:
        """DescribeExecution once the execution has ended (or after ``timeout`` seconds)."""
        with self._lock:
            handle = self._runs.get(execution_arn)
        if handle is not None:
            handle.wait(timeout)
        return self.describe_execution({"executionArn": execution_arn})

    def running(self) -> list[str]:
        """ARNs of the executions this service is running now."""
        with self._lock:
            return list(self._runs)

    def resume(self) -> list[str]:
        """Redrive the executions an earlier server left running when it stopped; their ARNs."""
        prefix = SERVER_STOPPED_CAUSE.split("{", 1)[0]
        resumed = []
        for row in self.store.executions(status="FAILED"):
            if row.error == RUNNER_DIED and (row.cause or "").startswith(prefix) and row.plan \
                    and row.parent_arn is None:
                self.redrive_execution({"executionArn": row.arn})
                resumed.append(row.arn)
        return resumed

    def close(self, *, wait: float = 10.0) -> list[str]:
        """Stop for good: executions still running are marked FAILED for ``redrive``; their ARNs.

        Nothing that completed is lost (every event and task result is already committed); the
        jobs of the marked executions are stopped.
        """
        with self._lock:
            self._closed = True
            handles = list(self._runs.values())
        marked: list[str] = []
        for handle in handles:
            marked.extend(handle.run.detach(RUNNER_DIED, lambda row: SERVER_STOPPED_CAUSE.format(
                pid=os.getpid(), name=row.name)))
        deadline = time.monotonic() + wait
        for handle in handles:
            handle.wait(max(0.0, deadline - time.monotonic()))
        with self._lock:
            lambdas, self._lambdas = list(self._lambdas.values()), {}
        for local in lambdas:
            local.close()
        return marked

    # -- lookups ------------------------------------------------------------------------------------

    def _machine(self, arn: str) -> StateMachineRow:
        parts = arn_parts(arn, ("stateMachine",))
        row = self.store.state_machine(":".join(parts[:7]))
        if row is None:
            raise ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return row

    def _execution(self, arn: str) -> ExecutionRow:
        arn_parts(arn, ("execution", "express"))
        try:
            return self.store.execution(arn)
        except OrchestratorError:
            raise ServiceError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'") from None

    def _version_or_alias(self, arn: str, machine: StateMachineRow) -> tuple[str, str | None, str | None]:
        """(definition text, version ARN, alias ARN) that a qualified state machine ARN starts."""
        parts = arn.split(":")
        if len(parts) == 7:
            return machine.definition, None, None
        qualifier = parts[7]
        if qualifier.isdigit():
            version = self.store.version(arn)
            if version is None:
                raise ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
            return str(version["definition"]), arn, None
        alias = self.store.alias(arn)
        if alias is None:
            raise ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        routes = alias["routing"]
        # Weighted routing, as the alias's routingConfiguration says (weights add up to 100).
        pick = random.uniform(0, 100)
        chosen = routes[-1]["stateMachineVersionArn"]
        for route in routes:
            pick -= float(route["weight"])
            if pick < 0:
                chosen = route["stateMachineVersionArn"]
                break
        version = self.store.version(chosen)
        assert version is not None
        return str(version["definition"]), chosen, arn

    # -- state machines -----------------------------------------------------------------------------

    def create_state_machine(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = str(request["name"])
        check_name(name, "state machine")
        definition = parse_definition(str(request["definition"]))
        check_role(str(request["roleArn"]))
        kind = str(request.get("type") or "STANDARD")
        tags = {t["key"]: t.get("value", "") for t in request.get("tags") or ()}
        if len(tags) > TAGS_MAX:
            raise ServiceError("TooManyTags", f"Too many tags: at most {TAGS_MAX} per resource")
        arn = state_machine_arn(name)
        with self._lock:
            existing = self.store.state_machine(arn)
            if existing is not None:
                same = (json.loads(existing.definition) == definition and existing.role_arn == request["roleArn"]
                        and existing.type == kind and existing.logging == request.get("loggingConfiguration")
                        and existing.tracing == request.get("tracingConfiguration"))
                if not same:  # AWS: idempotent only for an identical request
                    raise ServiceError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
                return {"stateMachineArn": arn, "creationDate": epoch(existing.creation_date)}
            now = now_iso()
            row = StateMachineRow(
                arn=arn, name=name, type=kind, definition=str(request["definition"]),
                role_arn=str(request["roleArn"]), creation_date=now, revision_id=uuid.uuid4().hex,
                logging=request.get("loggingConfiguration"), tracing=request.get("tracingConfiguration"),
                plan=plain_plan(name, definition))
            self.store.put_state_machine(row)
            if tags:
                self.store.tag(arn, tags)
        response: dict[str, Any] = {"stateMachineArn": arn, "creationDate": epoch(now)}
        if request.get("publish"):
            response["stateMachineVersionArn"] = self._publish(row, request.get("versionDescription"))["arn"]
        return response

    def update_state_machine(self, request: Mapping[str, Any]) -> dict[str, Any]:
        changes = [k for k in ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
                   if request.get(k) is not None]
        with self._lock:
            row = self._machine(str(request["stateMachineArn"]))
            if not changes:
                raise ServiceError("MissingRequiredParameter",
                                   "Either the definition, the roleArn, the loggingConfiguration or the "
                                   "tracingConfiguration must be specified")
            definition_text = row.definition
            plan = row.plan
            if request.get("definition") is not None:
                definition = parse_definition(str(request["definition"]))
                definition_text = str(request["definition"])
                plan = {**(plan or plain_plan(row.name, definition)),
                        "definitions": {**((plan or {}).get("definitions") or {}), row.name: definition}}
            if request.get("roleArn") is not None:
                check_role(str(request["roleArn"]))
            now = now_iso()
            updated = StateMachineRow(
                arn=row.arn, name=row.name, type=row.type, definition=definition_text,
                role_arn=str(request.get("roleArn") or row.role_arn), creation_date=row.creation_date,
                revision_id=uuid.uuid4().hex, description=row.description,
                logging=request.get("loggingConfiguration", row.logging),
                tracing=request.get("tracingConfiguration", row.tracing), update_date=now,
                workflow=row.workflow, plan=plan)
            self.store.put_state_machine(updated)
        response: dict[str, Any] = {"updateDate": epoch(now), "revisionId": updated.revision_id}
        if request.get("publish"):
            response["stateMachineVersionArn"] = self._publish(updated, request.get("versionDescription"))["arn"]
        return response

    def _describe_machine(self, row: StateMachineRow) -> dict[str, Any]:
        described: dict[str, Any] = {
            "stateMachineArn": row.arn, "name": row.name, "status": "ACTIVE", "definition": row.definition,
            "roleArn": row.role_arn, "type": row.type, "creationDate": epoch(row.creation_date),
            "loggingConfiguration": row.logging or {"level": "OFF", "includeExecutionData": False},
            "tracingConfiguration": row.tracing or {"enabled": False}, "revisionId": row.revision_id}
        if row.description:
            described["description"] = row.description
        return described

    def describe_state_machine(self, request: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(request["stateMachineArn"])
        row = self._machine(arn)
        if len(arn.split(":")) == 8:
            version = self.store.version(arn)
            if version is None:
                raise ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
            described = self._describe_machine(row)
            described.update(stateMachineArn=arn, definition=version["definition"], roleArn=version["role_arn"],
                             revisionId=version["revision_id"], creationDate=epoch(version["creation_date"]))
            if version["description"]:
                described["description"] = version["description"]
            return described
        return self._describe_machine(row)

    def list_state_machines(self, request: Mapping[str, Any]) -> dict[str, Any]:
        rows = sorted(self.store.state_machines(), key=lambda r: r.name)
        page, token = paginate(rows, request, "sm", "")
        return paged("stateMachines", [
            {"stateMachineArn": r.arn, "name": r.name, "type": r.type, "creationDate": epoch(r.creation_date)}
            for r in page], token)

    def delete_state_machine(self, request: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(request["stateMachineArn"])
        parts = arn_parts(arn, ("stateMachine",))
        if len(parts) == 8:
            self.store.delete_version(arn) if parts[7].isdigit() else self.store.delete_alias(arn)
            return {}
        # AWS answers success for a machine that does not exist; running executions keep going.
        with self._lock:
            self.store.delete_state_machine(arn)
            self._served = [s for s in self._served if s.state_machine_arn != arn]
        return {}

    def validate_state_machine_definition(self, request: Mapping[str, Any]) -> dict[str, Any]:
        text = str(request["definition"])
        diagnostics: list[dict[str, Any]] = []
        try:
            definition = json.loads(text)
        except ValueError as exc:
            diagnostics.append({"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION", "message": str(exc)})
        else:
            try:
                if not isinstance(definition, dict):
                    raise ServiceError("InvalidDefinition", "the definition is not a JSON object")
                validate_definition(definition)
            except DefinitionError as exc:
                diagnostics.extend({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED",
                                    "message": p.message + (f" (fix: {p.fix})" if p.fix else ""),
                                    "location": p.where} for p in exc.problems)
            except ServiceError as exc:
                diagnostics.append({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": exc.message})
        limit = int(request.get("maxResults") or DEFAULT_PAGE)
        return {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics[:limit],
                "truncated": len(diagnostics) > limit}

    # -- versions and aliases -----------------------------------------------------------------------

    def _publish(self, row: StateMachineRow, description: Any) -> dict[str, Any]:
        versions = self.store.versions(row.arn)
        if versions and versions[0]["revision_id"] == row.revision_id:
            return versions[0]  # AWS: publishing an unchanged revision returns the latest version
        return self.store.add_version(state_machine_arn=row.arn, definition=row.definition, role_arn=row.role_arn,
                                      description=None if description is None else str(description),
                                      revision_id=row.revision_id, creation_date=now_iso())

    def publish_state_machine_version(self, request: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            row = self._machine(str(request["stateMachineArn"]))
            if request.get("revisionId") not in (None, row.revision_id):
                raise ServiceError("ConflictException", f"Revision {request['revisionId']!r} is not the current "
                                   f"revision of '{row.arn}' ({row.revision_id})")
            version = self._publish(row, request.get("description"))
        return {"stateMachineVersionArn": version["arn"], "creationDate": epoch(version["creation_date"])}

    def list_state_machine_versions(self, request: Mapping[str, Any]) -> dict[str, Any]:
        row = self._machine(str(request["stateMachineArn"]))
        page, token = paginate(self.store.versions(row.arn), request, "versions", row.arn)
        return paged("stateMachineVersions", [
            {"stateMachineVersionArn": v["arn"], "creationDate": epoch(v["creation_date"])} for v in page], token)

    def delete_state_machine_version(self, request: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(request["stateMachineVersionArn"])
        parts = arn_parts(arn, ("stateMachine",))
        if len(parts) != 8 or not parts[7].isdigit():
            raise ServiceError("InvalidArn", f"Invalid Arn: 'Not a state machine version ARN: {arn}'")
        for alias in self.store.aliases(":".join(parts[:7])):
            if any(r["stateMachineVersionArn"] == arn for r in alias["routing"]):
                raise ServiceError("ConflictException", f"Version '{arn}' is referenced by alias '{alias['arn']}'; "
                                   "update or delete the alias first")
        self.store.delete_version(arn)
        return {}

    def _routing(self, machine_arn: str, routing: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        routes: list[dict[str, Any]] = [
            {"stateMachineVersionArn": str(r["stateMachineVersionArn"]), "weight": int(r["weight"])} for r in routing]
        for route in routes:
            version = self.store.version(route["stateMachineVersionArn"])
            if version is None or version["state_machine_arn"] != machine_arn:
                raise ServiceError("ResourceNotFound",
                                   f"Resource not found: '{route['stateMachineVersionArn']}'")
        if sum(r["weight"] for r in routes) != 100:
            raise ServiceError("ValidationException", "The weights of a routingConfiguration must add up to 100")
        return routes

    def create_state_machine_alias(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = str(request["name"])
        routing = list(request["routingConfiguration"])
        first = str(routing[0]["stateMachineVersionArn"])
        machine_arn = ":".join(arn_parts(first, ("stateMachine",))[:7])
        with self._lock:
            machine = self._machine(machine_arn)
            routes = self._routing(machine.arn, routing)
            arn = f"{machine.arn}:{name}"
            existing = self.store.alias(arn)
            if existing is not None:
                if existing["routing"] == routes and existing["description"] == request.get("description"):
                    return {"stateMachineAliasArn": arn, "creationDate": epoch(existing["creation_date"])}
                raise ServiceError("ConflictException", f"Alias '{arn}' already exists with another configuration")
            now = now_iso()
            self.store.put_alias(arn=arn, state_machine_arn=machine.arn, name=name,
                                 description=request.get("description"), routing=routes, creation_date=now,
                                 update_date=None)
        return {"stateMachineAliasArn": arn, "creationDate": epoch(now)}

    def _alias(self, arn: str) -> dict[str, Any]:
        parts = arn_parts(arn, ("stateMachine",))
        alias = self.store.alias(arn) if len(parts) == 8 else None
        if alias is None:
            raise ServiceError("ResourceNotFound", f"Resource not found: '{arn}'")
        return alias

    def describe_state_machine_alias(self, request: Mapping[str, Any]) -> dict[str, Any]:
        alias = self._alias(str(request["stateMachineAliasArn"]))
        described: dict[str, Any] = {
            "stateMachineAliasArn": alias["arn"], "name": alias["name"], "routingConfiguration": alias["routing"],
            "creationDate": epoch(alias["creation_date"])}
        if alias["description"]:
            described["description"] = alias["description"]
        if alias["update_date"]:
            described["updateDate"] = epoch(alias["update_date"])
        return described

    def update_state_machine_alias(self, request: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            alias = self._alias(str(request["stateMachineAliasArn"]))
            routes = (self._routing(alias["state_machine_arn"], list(request["routingConfiguration"]))
                      if request.get("routingConfiguration") else alias["routing"])
            now = now_iso()
            self.store.put_alias(arn=alias["arn"], state_machine_arn=alias["state_machine_arn"], name=alias["name"],
                                 description=request.get("description", alias["description"]), routing=routes,
                                 creation_date=alias["creation_date"], update_date=now)
        return {"updateDate": epoch(now)}

    def delete_state_machine_alias(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self.store.delete_alias(self._alias(str(request["stateMachineAliasArn"]))["arn"])
        return {}

    def list_state_machine_aliases(self, request: Mapping[str, Any]) -> dict[str, Any]:
        row = self._machine(str(request["stateMachineArn"]))
        page, token = paginate(self.store.aliases(row.arn), request, "aliases", row.arn)
        return paged("stateMachineAliases", [
            {"stateMachineAliasArn": a["arn"], "creationDate": epoch(a["creation_date"])} for a in page], token)

    # -- executions ---------------------------------------------------------------------------------

    def _mock(self, plan: Mapping[str, Any], test_case: str | None) -> MockCase | None:
        """The mock config's test case for ``<stateMachineArn>#<TestCase>`` (Step Functions Local)."""
        if test_case is None:
            return None
        if self.mock_config is None:
            raise ServiceError("ValidationException",
                               f"Test case {test_case!r} asked for, but no mock config is loaded: start the server "
                               "with --mock-config FILE or SFN_MOCK_CONFIG=FILE")
        try:
            return select_test_case(self.mock_config, test_case, plan)
        except OrchestratorError as exc:
            raise ServiceError("ValidationException", str(exc)) from None

    def start_execution(self, request: Mapping[str, Any], *, express_sync: bool = False) -> dict[str, Any]:
        """StartExecution; ``<stateMachineArn>#<TestCase>`` runs a test case of the mock config."""
        target, _, test_case = str(request["stateMachineArn"]).partition("#")
        machine = self._machine(target)
        if express_sync and machine.type != "EXPRESS":
            raise ServiceError("StateMachineTypeNotSupported",
                               "This operation is not supported by this type of state machine")
        definition_text, _version_arn, _alias_arn = self._version_or_alias(target, machine)
        name = str(request.get("name") or uuid.uuid4())
        check_name(name, "execution")
        raw = request.get("input")
        try:
            input = json.loads(raw) if raw is not None else {}
        except ValueError as exc:
            raise ServiceError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'") from None
        plan = dict(machine.plan or plain_plan(machine.name, json.loads(definition_text)))
        if definition_text != machine.definition:  # a version or an alias: run that definition
            plan["definitions"] = {**plan["definitions"], machine.name: json.loads(definition_text)}
        mock = self._mock(plan, test_case or None)
        arn = f"{machine.arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
        with self._lock:
            if self._closed:
                raise ServiceError("ServiceUnavailable", "The local endpoint is shutting down", status=503)
            try:
                existing = self.store.execution(arn)
            except OrchestratorError:
                existing = None
            if existing is not None:
                # AWS: the same name and input while it runs is the same execution; otherwise an error.
                if existing.status == "RUNNING" and existing.input == input and not express_sync:
                    return {"executionArn": arn, "startDate": epoch(existing.start_date)}
                raise ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
            handle = start_plan(self.store, plan, input, name=name, mock=mock, capacity=self.capacity,
                                notice=self._notice, on_end=self._ended,
                                lambda_=self._lambda(machine.arn, machine.revision_id, plan))
            self._track(handle)
        if express_sync and handle.wait(EXPRESS_MAX_SECONDS) is None and not handle.done:
            # An express workflow runs for at most five minutes; then it is stopped, as on AWS.
            handle.stop("States.Timeout", "The execution ran longer than the 5 minutes of an EXPRESS workflow")
            handle.wait(30)
        row = self.store.execution(handle.arn)
        return {"executionArn": handle.arn, "startDate": epoch(row.start_date)}

    def _lambda(self, arn: str, revision: str, plan: Mapping[str, Any]) -> LocalLambda | None:
        """The shared local Lambda of a plan with functions (None: the run makes its own, a cheap one)."""
        if not plan.get("functions"):
            return None
        with self._lock:
            local = self._lambdas.get((arn, revision))
            if local is None:
                stale = [key for key in self._lambdas if key[0] == arn]  # an earlier revision's
                for key in stale:
                    self._lambdas.pop(key).close()
                local = self._lambdas[(arn, revision)] = plan_lambda(self.store, plan)
            return local

    def _track(self, handle: BackgroundRun) -> None:
        with self._lock:
            self._runs[handle.arn] = handle
        if handle.done:  # it ended before it was tracked: ``_ended`` found nothing to forget
            self._ended(handle)

    def _ended(self, handle: BackgroundRun) -> None:
        with self._lock:
            if self._runs.get(handle.arn) is handle:
                del self._runs[handle.arn]

    def start_sync_execution(self, request: Mapping[str, Any]) -> dict[str, Any]:
        started = self.start_execution(request, express_sync=True)
        described = self.describe_execution({"executionArn": started["executionArn"]})
        keep = ("executionArn", "stateMachineArn", "name", "startDate", "stopDate", "status", "error", "cause",
                "input", "inputDetails", "output", "outputDetails")
        response = {k: described[k] for k in keep if k in described}
        if response.get("status") in ("RUNNING", "ABORTED") and response.get("error") == "States.Timeout":
            response["status"] = "TIMED_OUT"  # stopped at the five minutes of an express workflow
        if request.get("includedData") == "METADATA_ONLY":
            for key in ("input", "inputDetails", "output", "outputDetails"):
                response.pop(key, None)
        billed = int(1000 * ((response.get("stopDate") or time.time()) - response["startDate"]))
        response["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": max(100, billed)}
        return response

    def describe_execution(self, request: Mapping[str, Any]) -> dict[str, Any]:
        row = self._execution(str(request["executionArn"]))
        described: dict[str, Any] = {
            "executionArn": row.arn, "stateMachineArn": row.state_machine_arn, "name": row.name,
            "status": row.status, "startDate": epoch(row.start_date), "input": json_text(row.input),
            "inputDetails": {"included": True}}
        if row.stop_date is not None:
            described["stopDate"] = epoch(row.stop_date)
        if row.status == "SUCCEEDED":
            described["output"] = json_text(row.output)
            described["outputDetails"] = {"included": True}
        if row.error is not None:
            described["error"] = row.error
        if row.cause is not None:
            described["cause"] = row.cause
        if row.redrive_count:
            described["redriveCount"] = row.redrive_count
        described.update(self._redrive_status(row))
        if request.get("includedData") == "METADATA_ONLY":  # what a caller without kms:Decrypt asks for
            for key in ("input", "inputDetails", "output", "outputDetails"):
                described.pop(key, None)
        return described

    def _redrive_status(self, row: ExecutionRow) -> dict[str, Any]:
        if row.status == "RUNNING":
            return {"redriveStatus": "NOT_REDRIVABLE", "redriveStatusReason": "Execution is RUNNING and cannot be "
                    "redriven"}
        if row.status == "SUCCEEDED":
            return {"redriveStatus": "NOT_REDRIVABLE", "redriveStatusReason": "Execution is SUCCEEDED and cannot be "
                    "redriven"}
        if row.parent_arn is not None or not row.plan:
            return {"redriveStatus": "NOT_REDRIVABLE", "redriveStatusReason": "Execution is a child execution; "
                    "redrive its parent"}
        return {"redriveStatus": "REDRIVABLE"}

    def describe_state_machine_for_execution(self, request: Mapping[str, Any]) -> dict[str, Any]:
        row = self._execution(str(request["executionArn"]))
        name = row.state_machine_arn.rsplit(":", 1)[-1]
        machine = self.store.state_machine(row.state_machine_arn)
        definition = (row.plan or {}).get("definitions", {}).get(name)
        described: dict[str, Any] = {
            "stateMachineArn": row.state_machine_arn, "name": name,
            "definition": json.dumps(definition, indent=2) if definition is not None
            else (machine.definition if machine else "{}"),
            "roleArn": machine.role_arn if machine else "",
            "updateDate": epoch((machine.update_date or machine.creation_date) if machine else row.start_date)}
        if machine is not None:
            described["revisionId"] = machine.revision_id
            described["loggingConfiguration"] = machine.logging or {"level": "OFF", "includeExecutionData": False}
            described["tracingConfiguration"] = machine.tracing or {"enabled": False}
        return described

    def list_executions(self, request: Mapping[str, Any]) -> dict[str, Any]:
        if request.get("mapRunArn") is not None:
            raise ServiceError("ResourceNotFound", f"Resource not found: '{request['mapRunArn']}'")
        if request.get("stateMachineArn") is None:
            raise ServiceError("ValidationException", "Must provide a StateMachine ARN or a MapRun ARN")
        arn = str(request["stateMachineArn"])
        machine = self._machine(arn)
        rows = self.store.executions(status=request.get("statusFilter"), state_machine_arn=machine.arn)
        redriven = request.get("redriveFilter")
        if redriven is not None:
            rows = [r for r in rows if (r.redrive_count > 0) == (redriven == "REDRIVEN")]
        key = f"{machine.arn}|{request.get('statusFilter')}|{redriven}"
        page, token = paginate(rows, request, "executions", key)
        items = []
        for r in page:
            item: dict[str, Any] = {"executionArn": r.arn, "stateMachineArn": r.state_machine_arn, "name": r.name,
                                    "status": r.status, "startDate": epoch(r.start_date)}
            if r.stop_date is not None:
                item["stopDate"] = epoch(r.stop_date)
            if r.redrive_count:
                item["redriveCount"] = r.redrive_count
            items.append(item)
        return paged("executions", items, token)

    def get_execution_history(self, request: Mapping[str, Any]) -> dict[str, Any]:
        row = self._execution(str(request["executionArn"]))
        events = self.store.events(row.arn)
        reverse = bool(request.get("reverseOrder"))
        if reverse:
            events.reverse()
        page, token = paginate(events, request, "history", f"{row.arn}|{reverse}")
        include = request.get("includeExecutionData", True) is not False
        return paged("events", [api_event(e, include) for e in page], token)

    def stop_execution(self, request: Mapping[str, Any]) -> dict[str, Any]:
        row = self._execution(str(request["executionArn"]))
        with self._lock:
            handle = self._runs.get(row.arn)
        if handle is None:
            if row.status != "RUNNING":
                # AWS: stopping an execution that already ended changes nothing.
                return {"stopDate": epoch(row.stop_date or now_iso())}
            reconcile(self.store)
            if self.store.execution(row.arn).status == "RUNNING":
                raise ServiceError("ValidationException",
                                   f"Execution '{row.arn}' is run by another local process (pid {row.runner_pid});"
                                   " stop it there (Ctrl-C) or with `kill -INT`")
            return {"stopDate": epoch(now_iso())}
        handle.stop(request.get("error"), request.get("cause"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stopped = self.store.execution(row.arn)
            if stopped.status != "RUNNING":
                return {"stopDate": epoch(stopped.stop_date or now_iso())}
            time.sleep(0.005)
        return {"stopDate": epoch(now_iso())}

    def redrive_execution(self, request: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(request["executionArn"])
        self._execution(arn)
        reconcile(self.store)
        with self._lock:
            row = self.store.execution(arn)
            stopped = epoch(row.stop_date)
            if stopped is not None and time.time() - stopped > REDRIVE_WINDOW_SECONDS:
                raise ServiceError("ExecutionNotRedrivable",
                                   f"Execution '{arn}' stopped more than 14 days ago and cannot be redriven")
            try:
                check_redrivable(self.store, row)
            except RedriveError as exc:
                raise ServiceError("ExecutionNotRedrivable", str(exc)) from None
            # A redrive runs its stored plan, with a local Lambda of its own, closed at its end.
            handle = start_plan(self.store, row.plan, row.input, name=row.name, redrive=row,
                                capacity=self.capacity, notice=self._notice, on_end=self._ended)
            self._track(handle)
        return {"redriveDate": time.time()}

    # -- callbacks ----------------------------------------------------------------------------------

    def _token_call(self, token: str, send: Callable[[], None]) -> dict[str, Any]:
        try:
            uuid.UUID(token)
        except ValueError:
            raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
        try:
            send()
        except StatesError:
            raise ServiceError("TaskDoesNotExist", "Task Does Not Exist: no running task has this token "
                               "(its task ended, timed out, or its execution stopped)") from None
        return {}

    def send_task_success(self, request: Mapping[str, Any]) -> dict[str, Any]:
        try:
            output = json.loads(str(request["output"]))
        except ValueError as exc:
            raise ServiceError("InvalidOutput", f"Invalid Output: '{exc}'") from None
        token = str(request["taskToken"])
        return self._token_call(token, lambda: send_task_success(token, output))

    def send_task_failure(self, request: Mapping[str, Any]) -> dict[str, Any]:
        token = str(request["taskToken"])
        return self._token_call(token, lambda: send_task_failure(token, request.get("error"), request.get("cause")))

    def send_task_heartbeat(self, request: Mapping[str, Any]) -> dict[str, Any]:
        token = str(request["taskToken"])
        return self._token_call(token, lambda: send_task_heartbeat(token))

    # -- tags ---------------------------------------------------------------------------------------

    def _resource(self, arn: str) -> str:
        parts = arn_parts(arn, ("stateMachine",))
        found = (self.store.state_machine(arn) if len(parts) == 7
                 else self.store.version(arn) if parts[7].isdigit() else self.store.alias(arn))
        if found is None:
            raise ServiceError("ResourceNotFound", f"Resource not found: '{arn}'")
        return arn

    def tag_resource(self, request: Mapping[str, Any]) -> dict[str, Any]:
        arn = self._resource(str(request["resourceArn"]))
        new = {str(t["key"]): str(t.get("value", "")) for t in request["tags"]}
        with self._lock:
            if len({**self.store.tags(arn), **new}) > TAGS_MAX:
                raise ServiceError("TooManyTags", f"Too many tags: at most {TAGS_MAX} per resource")
            self.store.tag(arn, new)
        return {}

    def untag_resource(self, request: Mapping[str, Any]) -> dict[str, Any]:
        self.store.untag(self._resource(str(request["resourceArn"])), [str(k) for k in request["tagKeys"]])
        return {}

    def list_tags_for_resource(self, request: Mapping[str, Any]) -> dict[str, Any]:
        tags = self.store.tags(self._resource(str(request["resourceArn"])))
        return {"tags": [{"key": k, "value": v} for k, v in tags.items()]}


Operation = Callable[[Service, Mapping[str, Any]], dict[str, Any]]

# Every operation the endpoint answers, by its API name; the one dispatch table.
OPERATIONS: dict[str, Operation] = {
    "CreateStateMachine": Service.create_state_machine,
    "UpdateStateMachine": Service.update_state_machine,
    "DescribeStateMachine": Service.describe_state_machine,
    "ListStateMachines": Service.list_state_machines,
    "DeleteStateMachine": Service.delete_state_machine,
    "ValidateStateMachineDefinition": Service.validate_state_machine_definition,
    "PublishStateMachineVersion": Service.publish_state_machine_version,
    "ListStateMachineVersions": Service.list_state_machine_versions,
    "DeleteStateMachineVersion": Service.delete_state_machine_version,
    "CreateStateMachineAlias": Service.create_state_machine_alias,
    "DescribeStateMachineAlias": Service.describe_state_machine_alias,
    "UpdateStateMachineAlias": Service.update_state_machine_alias,
    "DeleteStateMachineAlias": Service.delete_state_machine_alias,
    "ListStateMachineAliases": Service.list_state_machine_aliases,
    "StartExecution": Service.start_execution,
    "StartSyncExecution": Service.start_sync_execution,
    "StopExecution": Service.stop_execution,
    "DescribeExecution": Service.describe_execution,
    "DescribeStateMachineForExecution": Service.describe_state_machine_for_execution,
    "ListExecutions": Service.list_executions,
    "GetExecutionHistory": Service.get_execution_history,
    "RedriveExecution": Service.redrive_execution,
    "SendTaskSuccess": Service.send_task_success,
    "SendTaskFailure": Service.send_task_failure,
    "SendTaskHeartbeat": Service.send_task_heartbeat,
    "TagResource": Service.tag_resource,
    "UntagResource": Service.untag_resource,
    "ListTagsForResource": Service.list_tags_for_resource,
}

__all__ = ["OPERATIONS", "Service", "ServedWorkflow", "ServiceError"]
