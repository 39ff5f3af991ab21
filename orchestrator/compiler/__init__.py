"""Compile a workflow model into Step Functions state machines (Amazon States Language).

The passes are listed in order in :data:`PASSES`, each a plain function of the previous one's
output (and the compilation's settings, ``_Job``):

1. ``_decompose``  DAG → series-parallel tree, adding as little waiting as possible (``decompose``);
2. ``_lay_out``  tree → render items, wide Parallels regrouped (``render.from_sp``);
3. ``_fit``  items → machines within the quotas: cut subtrees out (bottom up) into child machines
   (``quotas.Planner.shrink``), render typed ASL builders checked as they are built
   (``render.render_machine``; Task states of one kind from one stencil, ``emit``), the deployed
   JSON (``serialise.compact``, as ``emit.Writer`` writes it), its figures (``quotas.measure``) and
   placeholders; re-planned with a smaller budget when an estimate was short;
4. ``_finish``  contract 2 checked (each task exactly one Task state), the same JSON indented
   for reading (``serialise.dumps``, as ``emit.Writer`` writes it; what :meth:`CompileResult.write`
   writes), the report.

Compiling is pure: no clock, environment or I/O except :meth:`CompileResult.write`.

    >>> from orchestrator import model
    >>> wf = model.Workflow(name="hello", tasks=(
    ...     model.Task(name="say-hi", job=model.BatchJob(image="alpine:3", command=("echo", "hi"))),))
    >>> result = compile_workflow(wf)
    >>> result.main, sorted(result.placeholders)
    ('hello', ['${JobDefinition_say-hi}', '${JobQueue_default}'])
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import model
from orchestrator.api import WorkflowLike, workflow_model
from orchestrator.compiler import alerts, asl, frames, overlap, quotas, render, sp
from orchestrator.compiler.emit import Writer
from orchestrator.compiler.quotas import Report
from orchestrator.compiler.serialise import LINE_WIDTH, compact, dumps
from orchestrator.compiler.tasks import render_task
from orchestrator.errors import CompileError
from orchestrator.limits import (
    MAX_DEFINITION_BYTES,
    MAX_HISTORY_EVENTS,
    MAX_REQUEST_BYTES,
    STATE_MACHINE_NAME_MAX,
)
from orchestrator.placeholders import PATTERN, child_of

__all__ = ["LINE_WIDTH", "CompileResult", "Report", "compact", "compile_workflow", "dumps"]

# Room kept for what the planner does not place: the wrap state, the failure path, the
# execution's own events, and JSON around the states (the failure path's JSONata is most of it).
_EVENT_RESERVE = 64
_BYTE_RESERVE = 8_192
# Room in the 1 MB CreateStateMachine request for all that is not the definition: the name, role
# ARN, logging and tracing settings, up to 50 tags of 128 + 256 characters, the headers.
_REQUEST_RESERVE = 24_576
_REPLANS = 6


@dataclass(frozen=True, slots=True)
class CompileResult:
    """Every state machine of one workflow: ``definitions[main]`` is the one to start.

    ``deployed[name]`` is the text to deploy (compact JSON, what the quotas are counted on);
    ``texts[name]`` the same indented for reading, as :meth:`write` writes it.
    """

    main: str
    definitions: dict[str, dict[str, Any]]
    report: Report
    placeholders: set[str]
    texts: dict[str, str] = field(repr=False)
    deployed: dict[str, str] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        for name, definition in self.definitions.items():  # a result built by hand has none
            if name not in self.deployed:
                self.deployed[name] = compact(definition)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``DIR/<name>.asl.json`` for each machine; returns the paths written."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in self.texts.items():
            path = out / f"{name}.asl.json"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths


def child_name(workflow: str, index: int) -> str:
    """``<workflow>-part-<n>``, at most ``STATE_MACHINE_NAME_MAX`` characters and safe in a placeholder.

    >>> child_name("nightly-sales", 2)
    'nightly-sales-part-2'
    """
    suffix = f"-part-{index}"
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", workflow)
    if safe != workflow or len(safe) + len(suffix) > STATE_MACHINE_NAME_MAX:
        # Keep names of different workflows apart after sanitising or truncating.
        digest = hashlib.sha256(workflow.encode()).hexdigest()[:8]
        safe = safe[: STATE_MACHINE_NAME_MAX - len(suffix) - 9] + "-" + digest
    return safe + suffix


def _topic(wf: model.Workflow) -> str | None:
    if wf.notify is None:
        return None
    return alerts.alert_topic(wf.notify.topic_arn)


def _leaf_costs(
    wf: model.Workflow, kinds: Mapping[str, tuple[object, ...] | None]
) -> dict[str, quotas.LeafCost]:
    """Each task's cost, from its state rendered alone as deployed (compact, so the same at any
    depth of nesting).

    Rendering all 10,000 states of a big workflow twice (here and for the output) was most of
    the compile time, so tasks that render alike share one measurement: Batch tasks of the same
    kind (``tasks.kind_key``: same job, retry, timeout, description, names as long and as plain),
    whose states differ only in where the name is written, in as many characters. ``kinds`` is
    ``tasks.kinds_of``'s, one object per kind.
    """
    costs: dict[str, quotas.LeafCost] = {}
    shared: dict[int, quotas.LeafCost] = {}
    for t in wf.tasks:
        kind = kinds[t.name]
        cost = None if kind is None else shared.get(id(kind))
        if cost is None:
            state = render_task(t, wf, next="next", catch_to=alerts.DESCRIBE).render()
            cost = quotas.LeafCost.of(t.name, state)
            if kind is not None:
                shared[id(kind)] = cost
        costs[t.name] = cost
    return costs


@dataclass(slots=True)
class _Job:
    """One compilation: the workflow, the quotas it must fit, and how deep its structure nests
    (set by ``_decompose``; the later passes recurse that deep)."""

    wf: model.Workflow
    max_history_events: int
    max_definition_bytes: int
    depth: int = 0


# Each machine's Task states as (name, state), branches included, in no particular order.
TaskStates = dict[str, list[tuple[str, dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class _Fitted:
    """The machines of a workflow, each within the quotas: dicts, their deployed JSON text, their
    figures, and the writer that wrote them (it writes the readable text of the same states)."""

    definitions: dict[str, dict[str, Any]]
    deployed: dict[str, str]
    reports: tuple[quotas.MachineReport, ...]
    machines: dict[str, asl.StateMachine]  # the builders' machines, that rendered the definitions
    writer: Writer
    placeholders: set[str]  # every ${...} of the deployed texts
    task_states: TaskStates  # each machine's Task states, as the writer met them


def _decompose(job: _Job, wf: model.Workflow) -> sp.Node | None:
    if not wf.tasks:
        return None
    from orchestrator.compiler.decompose import decompose

    weights = {t.name: float(t.expected_duration) for t in wf.tasks if t.expected_duration is not None}
    tree = decompose([t.name for t in wf.tasks], wf.dependencies, weights or None)
    job.depth = _depth(tree)
    return tree


def _lay_out(job: _Job, tree: sp.Node | None) -> render.Item | None:
    return None if tree is None else render.from_sp(tree)


def _depth(node: sp.Node) -> int:
    """How deeply Series/Parallel nodes nest (iteratively, whatever the depth)."""
    deepest = 0
    stack: list[tuple[sp.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(current, sp.Series):
            stack.extend((child, depth + 1) for child in current.items)
        elif isinstance(current, sp.Parallel):
            stack.extend((child, depth + 1) for child in current.branches)
    return deepest


def compile_workflow(
    workflow: WorkflowLike,
    *,
    max_history_events: int = MAX_HISTORY_EVENTS,
    max_definition_bytes: int = MAX_DEFINITION_BYTES,
) -> CompileResult:
    """Compile ``workflow`` (the builder, or the model); split into ``<name>-part-N`` children
    when one machine would not fit.

    Raises ``ValidationError`` when the builder's workflow is invalid, ``NotAWorkflowError`` for
    anything that is not a workflow, and ``CompileError`` when a limit cannot be met (e.g. one
    task whose retries alone could pass the history quota).
    """
    wf = workflow_model(workflow, where="compile_workflow()", usage="compile_workflow({})")
    job = _Job(wf, max_history_events, max_definition_bytes)
    value: Any = wf
    with frames.paused_gc():
        for compiler_pass in PASSES:
            # A few frames per nesting level (~12 in JSON output): Parallels nested hundreds deep
            # need more than the default 1,000.
            with frames.recursion_limit(1_000 + 16 * job.depth):
                value = compiler_pass(job, value)
    result: CompileResult = value
    return result


def _fit(job: _Job, body: render.Item | None) -> _Fitted:
    wf, max_history_events = job.wf, job.max_history_events
    context = render.Context(wf)
    leaves = _leaf_costs(wf, context.kinds)
    topic = _topic(wf)
    # The definition travels inside a request that is also at most 1 MB (limits.MAX_REQUEST_BYTES).
    max_bytes = min(job.max_definition_bytes, MAX_REQUEST_BYTES - _REQUEST_RESERVE)
    scale = 1.0
    for attempt in range(_REPLANS):
        planner = quotas.Planner(
            leaves,
            max_events=int((max_history_events - _EVENT_RESERVE) * scale),
            max_bytes=int((max_bytes - _BYTE_RESERVE) * scale),
            child_name=lambda i: child_name(wf.name, i),
        )
        main_body = None if body is None else planner.shrink(body)
        bodies = {name: child_body for _index, name, child_body in planner.children}
        machines: list[tuple[str, render.Item | None, bool]] = [(wf.name, main_body, False)]
        machines += [(name, child_body, True) for name, child_body in bodies.items()]
        definitions: dict[str, dict[str, Any]] = {}
        deployed: dict[str, str] = {}
        built: dict[str, asl.StateMachine] = {}
        task_states: TaskStates = {}
        writer = Writer()
        placeholders: set[str] = set()
        reports_list: list[quotas.MachineReport] = []
        fits = True
        for name, machine_body, child in machines:
            machine = render.render_machine(
                wf,
                machine_body,
                child=child,
                topic=None if child else topic,
                timeout=None if child else wf.timeout,
                bodies=bodies,
                context=context,
            )
            built[name] = machine
            definition, text = writer.render(machine, task_states.setdefault(name, []))
            definitions[name], deployed[name] = definition, text
            keys = PATTERN.findall(text)  # one search of the text, for the quotas and for the result
            placeholders.update(keys)
            measured = quotas.measure(name, definition, text, failure_start=alerts.DESCRIBE, keys=keys)
            reports_list.append(measured)
            if measured.events > max_history_events or measured.deployed_bytes > max_bytes:
                fits = False
                if attempt < _REPLANS - 1:
                    break  # re-plan now: the machines left would be thrown away unmeasured
        reports = tuple(reports_list)
        if fits:
            break
        scale *= 0.75
    else:
        worst = max(reports, key=lambda r: r.deployed_bytes / max_bytes + r.events / max_history_events)
        raise CompileError(
            f"Workflow '{wf.name}' cannot be split to fit Step Functions quotas: '{worst.name}' needs "
            f"{worst.events} history events and {worst.deployed_bytes} bytes (limits {max_history_events} "
            f"and {max_bytes})."
        )
    return _Fitted(
        definitions, deployed, reports, built, writer, {"${" + key + "}" for key in placeholders}, task_states
    )


def _finish(job: _Job, fitted: _Fitted) -> CompileResult:
    wf, definitions, task_states = job.wf, fitted.definitions, fitted.task_states
    _check_every_task_once(wf, task_states)
    # The readable text, once, for the machines that fit.
    texts = {name: fitted.writer.readable(fitted.machines[name], d) for name, d in definitions.items()}
    result_bytes = _peak_results_bytes(wf, definitions, task_states)
    report = Report(machines=fitted.reports, tasks=len(wf.tasks), result_bytes=result_bytes)
    return CompileResult(
        main=wf.name, definitions=definitions, report=report, placeholders=fitted.placeholders, texts=texts,
        deployed=fitted.deployed,
    )


# The compiler's passes, in order; each takes the previous one's output (the first, the model).
PASSES: tuple[Callable[[_Job, Any], Any], ...] = (_decompose, _lay_out, _fit, _finish)


def _peak_results_bytes(
    wf: model.Workflow, definitions: Mapping[str, Mapping[str, Any]], task_states: TaskStates
) -> int:
    """Estimated size of ``$.results`` at its largest in any one machine: the results handed in,
    its own tasks', and those its children hand back (``quotas.RESULT_BYTES`` each)."""
    handed_in: dict[str, int] = {}
    calls: dict[str, list[str]] = {name: [] for name in definitions}
    own: dict[str, int] = {name: 0 for name in definitions}
    for name in definitions:
        count = 0
        for _, state in task_states[name]:
            parameters = state.get("Parameters")
            arn = str(parameters.get("StateMachineArn", "")) if parameters is not None else ""
            child = child_of(arn) if arn else None
            if child is not None:
                calls[name].append(child)
                handed_in[child] = len(state["Parameters"]["Input"]["results"])
            elif not state["Resource"].startswith("arn:aws:states:::sns:"):
                count += 1
        own[name] = count
    returned = {
        name: len(d["States"][render.RETURN]["Parameters"]["results"])
        for name, d in definitions.items()
        if render.RETURN in d["States"]
    }
    per_result = quotas.RESULT_BYTES + max((len(t.name) for t in wf.tasks), default=0)
    peak = max(handed_in.get(n, 0) + own[n] + sum(returned.get(c, 0) for c in calls[n]) for n in definitions)
    return peak * per_result


def _check_every_task_once(wf: model.Workflow, task_states: TaskStates) -> None:
    """Contract 2: each task of the DAG is exactly one Task state named after it."""
    seen = Counter(
        name
        for states in task_states.values()
        for name, state in states
        if not state["Resource"].startswith("arn:aws:states:::states:")
    )
    for service_state in (*alerts.SERVICE_STATES, overlap.CHECK):
        seen.pop(service_state, None)
    expected = {t.name for t in wf.tasks}
    if seen.keys() == expected and sum(seen.values()) == len(seen):  # each count is at least 1
        return
    wrong = sorted(n for n in expected | set(seen) if seen.get(n, 0) != (1 if n in expected else 0))
    if wrong:  # a bug in this package, not a user error
        raise AssertionError(f"tasks not rendered exactly once: {wrong}")
