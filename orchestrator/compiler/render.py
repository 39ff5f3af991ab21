"""Series-parallel tree → ASL states.

A ``Series`` becomes a chain of ``Next``. A ``Parallel`` becomes a Parallel state whose branches
receive the execution input plus only the results their tasks read, end on ``OutputPath:
$.results``, and are merged back into ``$.results`` by a Pass after the Parallel, so a later task
reads every upstream result at ``$.results.<task>``. A :class:`Call` (a part cut out by
``quotas``) becomes a ``states:startExecution.sync:2`` Task state and the same kind of merge Pass;
a child machine ends on ``Return results``, handing back only results read after it.

    >>> from orchestrator import model
    >>> from orchestrator.compiler.sp import Leaf
    >>> wf = model.Workflow(name="wf", tasks=(model.Task(name="t", job=model.LambdaTask(handler="m:f")),))
    >>> machine = render_machine(wf, Leaf("t"), child=False)
    >>> list(machine.render()["States"])
    ['Default scheduled time', 'Wrap input', 't', 'Describe failure', 'Workflow failed']
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace

from orchestrator import model, templates
from orchestrator.compiler import alerts, asl, overlap, sp
from orchestrator.compiler.emit import Stencils, StencilTask, TaskBranch
from orchestrator.compiler.tasks import child_task, kinds_of, render_task, result_path
from orchestrator.limits import MAX_INTRINSIC_NESTING
from orchestrator.placeholders import JOB_LOG_GROUP, placeholder

WRAP = "Wrap input"
DEFAULT_TIME = "Default scheduled time"
RETURN = "Return results"
# A merge of n branch results nests ceil(log2 n) JsonMerge calls; Step Functions allows at most
# 10 nested intrinsics in one field, so wider Parallels are regrouped into Parallels of Parallels.
MAX_BRANCHES = 2 ** (MAX_INTRINSIC_NESTING - 2)  # log2 merges + 1 ArrayGetItem <= 10


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


@functools.cache  # n <= MAX_BRANCHES: a few dozen texts, each asked for by every Parallel that wide
def merge_expression(n: int) -> str:
    """``States.JsonMerge`` of the n branch outputs (each branch ends on ``OutputPath: $.results``,
    so its output is its results object), as a balanced tree.

    Items are read with ``States.ArrayGetItem($, i)`` rather than ``$[i]``: the same on AWS, but
    moto's interpreter returns ``$[i]`` paths wrapped in a list, and the tests run the compiled
    machines there.

    >>> merge_expression(3)
    'States.JsonMerge(States.JsonMerge(States.ArrayGetItem($, 0), States.ArrayGetItem($, 1), false), States.ArrayGetItem($, 2), false)'
    """
    parts = [f"States.ArrayGetItem($, {i})" for i in range(n)]
    while len(parts) > 1:
        parts = [
            f"States.JsonMerge({parts[i]}, {parts[i + 1]}, false)" if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    return parts[0]


class Context:
    """What every machine of one workflow shares: tasks by name, declaration order, who reads
    whose result, and the tasks' kinds and their stencils (``emit``). Built once per compile
    (building it per machine made splitting quadratic)."""

    def __init__(self, wf: model.Workflow) -> None:
        self.wf = wf
        self.tasks: Mapping[str, model.Task] = {t.name: t for t in wf.tasks}
        self.order = {t.name: i for i, t in enumerate(wf.tasks)}
        self.kinds = kinds_of(wf.tasks)
        self.stencils = Stencils(wf, self.kinds)
        # Who reads a task's result: Lambda tasks get their direct upstream results.
        self.readers: dict[str, set[str]] = {}
        self.lambdas: set[str] = set()
        # The Fail states that end Parallel branches, by name and form: alike in every machine
        # ("Parallel 1 branch 1 failed" ends a branch in most of them), and immutable.
        self.branch_fails: dict[tuple[str, bool], asl.Fail] = {}
        # Local dates and hours the templates read: computed once per machine by "Logical time".
        self.local_time = templates.local_keys(templates.batch_values(wf))
        for t in wf.tasks:
            if t.runs_on == "lambda":
                self.lambdas.add(t.name)
                for dep in t.after:
                    self.readers.setdefault(dep, set()).add(t.name)


class _Renderer:
    def __init__(self, context: Context, bodies: Mapping[str, Item]) -> None:
        self.wf = context.wf
        self.tasks = context.tasks
        self.order = context.order
        self.readers = context.readers
        self.lambdas = context.lambdas
        self.local_time = context.local_time
        self.stencils = context.stencils
        self.branch_fails = context.branch_fails
        self.bodies = bodies  # child machine name -> its body, to see the tasks a Call runs
        self.parallels = 0
        # Leaves numbered left to right (child bodies included): each item covers one interval,
        # so "is this task inside the item" is two comparisons, not a walk of the subtree.
        self.index: dict[str, int] = {}
        self.spans: dict[int, tuple[int, int]] = {}
        self.numbered: list[str] = []  # tasks that read or are read, in leaf order
        self.placed: list[str] = []  # the tasks this machine runs itself, as their states are made

    def number(self, root: Item) -> None:
        """Number the leaves under ``root`` and record every item's interval (iteratively)."""
        stack: list[tuple[Item, bool]] = [(root, False)]
        starts: list[int] = []
        while stack:
            item, done = stack.pop()
            if done:
                self.spans[id(item)] = (starts.pop(), len(self.index))
                continue
            if isinstance(item, sp.Leaf):
                i = len(self.index)
                self.index[item.task] = i
                self.spans[id(item)] = (i, i + 1)
                if item.task in self.lambdas or item.task in self.readers:
                    self.numbered.append(item.task)
                continue
            starts.append(len(self.index))
            stack.append((item, True))
            children: tuple[Item, ...]
            if isinstance(item, Call):
                children = (self.bodies[item.machine],)
            elif isinstance(item, Seq):
                children = item.items
            else:
                children = item.branches
            stack.extend((c, False) for c in reversed(children))

    def _inside(self, item: Item) -> tuple[int, int, list[str]]:
        """``item``'s interval and the reading or read tasks in it, in leaf order."""
        if not self.lambdas:
            return 0, 0, []
        lo, hi = self.spans[id(item)]
        left = bisect.bisect_left(self.numbered, lo, key=self.index.__getitem__)
        right = bisect.bisect_left(self.numbered, hi, key=self.index.__getitem__)
        return lo, hi, self.numbered[left:right]

    def exports(self, item: Item) -> list[str]:
        """Results of tasks in ``item`` that tasks outside it read, in declaration order."""
        lo, hi, tasks = self._inside(item)
        index = self.index
        out = [t for t in tasks if any(not lo <= index.get(r, -1) < hi for r in self.readers.get(t, ()))]
        return sorted(out, key=self.order.__getitem__)

    def needs(self, item: Item) -> list[str]:
        """Results from outside ``item`` that tasks inside it read: Lambda tasks get their direct
        upstream results in the payload (Batch jobs read none), in declaration order."""
        lo, hi, tasks = self._inside(item)
        index = self.index
        wanted = {
            dep
            for t in tasks
            if t in self.lambdas
            for dep in self.tasks[t].after
            if not lo <= index.get(dep, -1) < hi
        }
        return sorted(wanted, key=self.order.__getitem__)

    def chain(
        self, item: Item, next: str | None, catch_to: str | None, output_path: str | None = None
    ) -> tuple[str, list[asl.State]]:
        """States for ``item`` that continue to ``next`` (End when None); returns (first, states).
        The state that continues to ``next`` (a Task or a merge Pass) gets ``output_path``."""
        state: asl.State
        if isinstance(item, sp.Leaf):
            task = self.tasks[item.task]
            self.placed.append(task.name)
            stencil = self.stencils.get(task, output_path, next is not None, catch_to is not None)
            if stencil is not None:
                state = StencilTask(name=task.name, next=next, catch_to=catch_to, stencil=stencil)
            else:
                state = render_task(task, self.wf, next=next, catch_to=catch_to, output_path=output_path)
            return state.name, [state]
        if isinstance(item, Call):
            call = call_state_name(item)
            call_task = child_task(
                call,
                item.machine,
                needs=self.needs(item),
                next=f"{call} results",
                catch_to=catch_to,
                catch_path=alerts.BRANCH_ERROR_PATH,
            )
            return call, [call_task, merge_pass(f"{call} results", next, output_path)]
        if isinstance(item, Seq):
            # Name Parallels in reading order: render items left to right, then link backwards
            # to the items whose first state is named only when rendered (a task's is the task's,
            # a child call's its number's).
            items = item.items
            first_names: list[str] = []
            rendered: list[list[asl.State]] = []
            links: dict[str, int] = {}  # stand-in Next -> the item it stands for
            for i, sub in enumerate(items):
                last = i + 1 == len(items)
                if last:
                    target = next
                else:
                    following = items[i + 1]
                    if type(following) is sp.Leaf:
                        target = following.task
                    elif type(following) is Call:
                        target = call_state_name(following)
                    else:
                        target = f"\0next{i + 1}"
                        links[target] = i + 1
                first, states = self.chain(sub, target, catch_to, output_path if last else None)
                first_names.append(first)
                rendered.append(states)
            out: list[asl.State] = []
            for states in rendered:
                if links:
                    for state in states:
                        if state.next in links:
                            state = _relink(state, first_names[links[state.next]])
                        out.append(state)
                else:
                    out.extend(states)
            return first_names[0], out
        return self._parallel(item, next, catch_to, output_path)

    def _branch_fail(self, name: str, *, nested: bool) -> asl.Fail:
        """``alerts.branch_fail(name, nested=nested)``, made once per compile."""
        fail = self.branch_fails.get((name, nested))
        if fail is None:
            fail = self.branch_fails[name, nested] = alerts.branch_fail(name, nested=nested)
        return fail

    def _parallel(
        self, item: Par, next: str | None, catch_to: str | None, output_path: str | None
    ) -> tuple[str, list[asl.State]]:
        """A Parallel state and the Pass that merges its branches' results into the state.

        Why not hand each branch the whole state and merge the copies: a Parallel's result is
        the array of its branch outputs, and it must fit in 256 KiB like any payload. With n
        branches each returning every result so far, a wide Parallel late in a big workflow
        would pass the limit. So a branch gets the input plus only the results its tasks read,
        and ends on ``OutputPath: $.results``; the Parallel merges those small objects into
        ``$.branch_results`` and the Pass merges that into ``$.results``.
        """
        self.parallels += 1
        name = f"Parallel {self.parallels}"
        merge = f"{name} results"
        branches: list[asl.Graph] = []
        tasks, stencils = self.tasks, self.stencils
        for i, branch in enumerate(item.branches, 1):
            if type(branch) is sp.Leaf:
                # One task (every branch of a wide fan-out): its state from its stencil when it
                # has one, without the general chain.
                fail = self._branch_fail(f"{name} branch {i} failed", nested=False)
                task = tasks[branch.task]
                stencil = stencils.get(task, "$.results", False, True)
                if stencil is not None:
                    self.placed.append(task.name)
                    state = StencilTask(name=task.name, next=None, catch_to=fail.name, stencil=stencil)
                    branches.append(TaskBranch.of(state, fail))
                    continue
            else:
                fail = self._branch_fail(f"{name} branch {i} failed", nested=_catches_branch_errors(branch))
            first, states = self.chain(branch, None, fail.name, output_path="$.results")
            branches.append(asl.Graph(start_at=first, states=(*states, fail)))
        parallel = asl.Parallel(
            name=name,
            branches=tuple(branches),
            parameters={
                "input.$": "$.input",
                "results": {dep + ".$": result_path(dep) for dep in self.needs(item)},
            },
            result_selector={"results.$": merge_expression(len(item.branches))},
            result_path="$.branch_results",
            catch=()
            if catch_to is None
            else (asl.Catcher(next=catch_to, result_path=alerts.BRANCH_ERROR_PATH),),
            next=merge,
        )
        merged = merge_pass(merge, next, output_path)
        return name, [parallel, merged]


def merge_pass(name: str, next: str | None, output_path: str | None = None) -> asl.Pass:
    """Fold ``$.branch_results.results`` (a Parallel's or a child's) into ``$.results``."""
    return asl.Pass(
        name=name,
        parameters={
            "input.$": "$.input",
            "results.$": "States.JsonMerge($.results, $.branch_results.results, false)",
        },
        output_path=output_path,
        next=next,
    )


def _catches_branch_errors(item: Item) -> bool:
    """Whether a branch's own chain holds a Parallel or a child call (whose Catch fills
    ``$.branch_error``) rather than only tasks (whose Catch fills ``$.failed``)."""
    items = item.items if isinstance(item, Seq) else (item,)
    return any(isinstance(i, (Par, Call)) for i in items)


def _relink(state: asl.State, next: str) -> asl.State:
    if isinstance(state, StencilTask):
        return state.relinked(next)
    return replace(state, next=next)


def entry_states(next: str | None, overlap_policy: str | None = None) -> tuple[str, list[asl.State]]:
    """The main machine's first states: logical time, then the wrapped input; returns (start, states).

    ``scheduled_time`` (contract 5) defaults to the start time when the starter gave none (a start
    from the AWS console, a plain StartExecution): the first Pass holds ``{"scheduled_time":
    $$.Execution.StartTime}`` and "Wrap input" merges the execution input over it, so a time the
    input carries (Scheduler's, backfill's) wins. Two Pass states rather than one building the
    object from text with ``States.Format`` and escaped braces, because moto's interpreter (which
    the tests run compiled machines on) does not unescape braces in Format; intrinsics
    rather than JSONata for the same reason. An input that is not an object fails in "Wrap input"
    (States.IntrinsicFailure), before any job starts.
    """
    default = asl.Pass(name=DEFAULT_TIME, parameters={"scheduled_time.$": "$$.Execution.StartTime"}, next=WRAP)
    wrap = asl.Pass(
        name=WRAP,
        parameters={"input.$": "States.JsonMerge($, $$.Execution.Input, false)", "results": {}},
        next=next,
    )
    if overlap_policy is not None and overlap.guarded(overlap_policy):
        start, guard = overlap.guard_states(overlap_policy, next=DEFAULT_TIME)
        return start, [*guard, default, wrap]
    return DEFAULT_TIME, [default, wrap]


def logical_time_state(wf: model.Workflow, refs: tuple[templates.Ref, ...], next: str) -> asl.Pass:
    """The JSONata Pass that assigns ``$logical_time`` (local dates and hour, see ``templates``)."""
    expression = templates.logical_time_expression(templates.zone(wf), refs)
    return asl.Pass(name=templates.STATE, query_language=asl.QueryLanguage.JSONATA,
                    assign={templates.VARIABLE: expression}, next=next)


def render_machine(
    wf: model.Workflow,
    body: Item | None,
    *,
    child: bool,
    topic: str | None = None,
    timeout: int | None = None,
    bodies: Mapping[str, Item] | None = None,
    context: Context | None = None,
) -> asl.StateMachine:
    """A whole state machine: (wrap the input) → body → End, plus the failure path.

    The main machine wraps the raw execution input as ``{"input": <raw>, "results": {}}``; a child
    receives that shape from its parent already.
    """
    renderer = _Renderer(context if context is not None else Context(wf), bodies or {})
    if body is not None and renderer.lambdas:  # with Batch tasks only, no result is passed on
        renderer.number(body)
    states: list[asl.State] = []
    start: str
    # Scheduler has no overlap setting, so the machine enforces it (compiler.overlap).
    policy = wf.schedule.overlap if wf.schedule is not None and not child else None
    if body is None:
        start, entry = entry_states(None, policy)
        states.extend(entry)
    else:
        # notify.on success/recovery: the main machine ends in their notice instead of the last task.
        on = wf.notify.on if wf.notify is not None else ()
        after: tuple[str | None, tuple[asl.State, ...]] = (None, ())
        if not child and topic is not None and ("success" in on or "recovery" in on):
            after = alerts.success_states(wf.name, topic=topic, on=on)
        first, body_states = renderer.chain(body, RETURN if child else after[0], alerts.DESCRIBE)
        logical = [logical_time_state(wf, renderer.local_time, first)] if renderer.local_time else []
        if logical:  # variables do not cross executions, so a child machine computes them again
            first = templates.STATE
        if child:
            start = first
        else:
            start, entry = entry_states(first, policy)
            states.extend(entry)
        states.extend(logical)
        states.extend(body_states)
        if child:
            # Hand back only what tasks after this child read (see tasks.child_task).
            exported = renderer.exports(body)
            states.append(
                asl.Pass(name=RETURN, parameters={"results": {t + ".$": result_path(t) for t in exported}})
            )
        # This machine's tasks in declaration order, as the body placed them (not by a scan of
        # every task of the workflow per machine, quadratic when a big workflow is split).
        order = renderer.order
        in_machine = [renderer.tasks[name] for name in sorted(renderer.placed, key=order.__getitem__)]
        facts = alerts.task_facts(in_machine, wf)
        # The failed attempt's log tail is read from the Batch jobs' log group, when there are jobs.
        batch_jobs = any(t.runs_on == "batch" for t in in_machine)
        states.extend(after[1])
        # notify.on without "failure": the failure path still fails the run, but sends nothing.
        failure_topic = topic if wf.notify is None or "failure" in wf.notify.on else None
        states.extend(alerts.failure_states(wf.name, topic=failure_topic, child=child, facts=facts,
                                            log_group=placeholder(JOB_LOG_GROUP) if batch_jobs else None))
    comment = wf.description if not child else f"Part of workflow {wf.name} (started by its parent)."
    return asl.StateMachine(
        graph=asl.Graph(start_at=start, states=tuple(states)),
        comment=comment,
        timeout_seconds=timeout,
    )
