"""Series-parallel tree → ASL states.

A ``Series`` becomes a chain of ``Next``; a ``Parallel`` becomes a Parallel state whose branches
each receive the whole state (``{"input", "results"}``) and whose ResultSelector merges the
branches' ``results`` back with ``States.JsonMerge``, so a later task reads every upstream result
at ``$.results.<task>``. A :class:`Call` (a part cut out by ``quotas``) becomes a
``states:startExecution.sync:2`` Task state.

    >>> from orchestrator import model
    >>> from orchestrator.compiler.sp import Leaf
    >>> wf = model.Workflow(name="wf", tasks=(model.Task(name="t", job=model.LambdaTask(handler="m:f")),))
    >>> machine = render_machine(wf, Leaf("t"), child=False)
    >>> list(machine.render()["States"])
    ['Wrap input', 't', 'Describe failure', 'Workflow failed']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from orchestrator import model
from orchestrator.compiler import alerts, asl, sp
from orchestrator.compiler.tasks import child_task, render_task

WRAP = "Wrap input"
# A merge of n branch results nests ceil(log2 n) JsonMerge calls; Step Functions allows at most
# 10 nested intrinsics in one field, so wider Parallels are regrouped into Parallels of Parallels.
MAX_BRANCHES = 2 ** (asl.MAX_INTRINSIC_NESTING - 2)  # log2 merges + 1 ArrayGetItem <= 10


@dataclass(frozen=True, slots=True)
class Call:
    """Run the child state machine ``machine``; ``index`` numbers it within the workflow."""

    machine: str
    index: int


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Par:
    branches: tuple[Item, ...]


Item = sp.Leaf | Call | Seq | Par


def from_sp(node: sp.Node) -> Item:
    """Convert a decomposed tree, regrouping Parallels wider than :data:`MAX_BRANCHES`."""
    if isinstance(node, sp.Leaf):
        return node
    if isinstance(node, sp.Series):
        return Seq(tuple(from_sp(i) for i in node.items))
    branches: tuple[Item, ...] = tuple(from_sp(b) for b in node.branches)
    while len(branches) > MAX_BRANCHES:
        branches = tuple(
            Par(branches[i : i + MAX_BRANCHES]) if len(branches[i : i + MAX_BRANCHES]) > 1 else branches[i]
            for i in range(0, len(branches), MAX_BRANCHES)
        )
    return Par(branches)


def call_state_name(call: Call) -> str:
    return f"Run part {call.index}"


def merge_expression(n: int) -> str:
    """``States.JsonMerge`` of the n branches' ``results``, as a balanced tree.

    Items are read with ``States.ArrayGetItem($[*].results, i)`` rather than ``$[i].results``:
    both mean the same on AWS, but moto's interpreter returns ``$[i].x`` wrapped in a list, and
    the tests run the compiled machines there.

    >>> merge_expression(3)  # doctest: +NORMALIZE_WHITESPACE
    'States.JsonMerge(States.JsonMerge(States.ArrayGetItem($[*].results, 0),
    States.ArrayGetItem($[*].results, 1), false), States.ArrayGetItem($[*].results, 2), false)'
    """
    parts = [f"States.ArrayGetItem($[*].results, {i})" for i in range(n)]
    while len(parts) > 1:
        parts = [
            f"States.JsonMerge({parts[i]}, {parts[i + 1]}, false)" if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    return parts[0]


class _Renderer:
    def __init__(self, wf: model.Workflow) -> None:
        self.wf = wf
        self.tasks: Mapping[str, model.Task] = {t.name: t for t in wf.tasks}
        self.parallels = 0

    def chain(self, item: Item, next: str | None, catch_to: str | None) -> tuple[str, list[asl.State]]:
        """States for ``item`` that continue to ``next`` (End when None); returns (first, states)."""
        state: asl.State
        if isinstance(item, sp.Leaf):
            state = render_task(self.tasks[item.task], self.wf, next=next, catch_to=catch_to)
            return state.name, [state]
        if isinstance(item, Call):
            state = child_task(
                call_state_name(item),
                item.machine,
                next=next,
                catch_to=catch_to,
                catch_path=alerts.BRANCH_ERROR_PATH,
            )
            return state.name, [state]
        if isinstance(item, Seq):
            # Name Parallels in reading order: render items left to right, then link backwards.
            first_names: list[str] = []
            rendered: list[list[asl.State]] = []
            placeholders = [f"\0next{i}" for i in range(len(item.items))]
            for i, sub in enumerate(item.items):
                target = placeholders[i + 1] if i + 1 < len(item.items) else next
                first, states = self.chain(sub, target, catch_to)
                first_names.append(first)
                rendered.append(states)
            links = {placeholders[i]: first_names[i] for i in range(1, len(item.items))}
            out: list[asl.State] = []
            for states in rendered:
                for state in states:
                    if state.next in links:
                        state = _relink(state, links[state.next])
                    out.append(state)
            return first_names[0], out
        return self._parallel(item, next, catch_to)

    def _parallel(self, item: Par, next: str | None, catch_to: str | None) -> tuple[str, list[asl.State]]:
        self.parallels += 1
        name = f"Parallel {self.parallels}"
        branches = []
        for i, branch in enumerate(item.branches, 1):
            fail = alerts.branch_fail(f"{name} branch {i} failed", nested=_catches_branch_errors(branch))
            first, states = self.chain(branch, None, fail.name)
            branches.append(asl.Graph(start_at=first, states=(*states, fail)))
        state = asl.Parallel(
            name=name,
            branches=tuple(branches),
            result_selector={
                "input.$": "States.ArrayGetItem($[*].input, 0)",
                "results.$": merge_expression(len(item.branches)),
            },
            result_path="$",
            catch=()
            if catch_to is None
            else (asl.Catcher(next=catch_to, result_path=alerts.BRANCH_ERROR_PATH),),
            next=next,
        )
        return name, [state]


def _catches_branch_errors(item: Item) -> bool:
    """Whether a branch's own chain holds a Parallel or a child call (whose Catch fills
    ``$.branch_error``) rather than only tasks (whose Catch fills ``$.failed``)."""
    items = item.items if isinstance(item, Seq) else (item,)
    return any(isinstance(i, (Par, Call)) for i in items)


def _relink(state: asl.State, next: str) -> asl.State:
    return replace(state, next=next)


def render_machine(
    wf: model.Workflow,
    body: Item | None,
    *,
    child: bool,
    topic: str | None = None,
    timeout: int | None = None,
) -> asl.StateMachine:
    """A whole state machine: (wrap the input) → body → End, plus the failure path.

    The main machine wraps the raw execution input as ``{"input": <raw>, "results": {}}``; a child
    receives that shape from its parent already.
    """
    renderer = _Renderer(wf)
    states: list[asl.State] = []
    start: str
    if body is None:
        start = WRAP
        states.append(asl.Pass(name=WRAP, parameters={"input.$": "$", "results": {}}))
    else:
        first, body_states = renderer.chain(body, None, alerts.DESCRIBE)
        if child:
            start = first
        else:
            start = WRAP
            states.append(asl.Pass(name=WRAP, parameters={"input.$": "$", "results": {}}, next=first))
        states.extend(body_states)
        states.extend(alerts.failure_states(wf.name, topic=topic, child=child))
    comment = wf.description if not child else f"Part of workflow {wf.name} (started by its parent)."
    return asl.StateMachine(
        graph=asl.Graph(start_at=start, states=tuple(states)),
        comment=comment,
        timeout_seconds=timeout,
    )
