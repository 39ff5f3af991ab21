"""Counting against Step Functions quotas, and splitting a workflow into child state machines.

Counted per machine, from the rendered definition:

* **history events, worst case**: every state on the success path with every retrier exhausted,
  plus the failure path once, plus the execution's own start and end events. A Standard
  execution fails once its history passes 25,000 events, so this must stay under the limit;
* **transitions per successful run** (no retries): each state entered is one billed transition;
* **definition bytes** as deployed: compact JSON (:func:`serialise.compact`, no indentation),
  UTF-8. Against the 1 MB quotas it is counted as AWS will receive it at worst
  (:func:`deployed_bytes`): every ``${Placeholder}`` replaced by the longest ARN it can become,
  and the whole escaped as the JSON string it travels in inside the API request, which is itself
  at most 1 MB. So a workflow is split only when some deployment of it could be refused; how the
  checked-in ``*.asl.json`` files are indented for reading does not matter.

When a machine would pass a limit, :class:`Planner` cuts the series-parallel tree at ``Series``
boundaries (runs of consecutive items) and at groups of ``Parallel`` branches into child
machines run with ``states:startExecution.sync:2``. Costs are estimated from each task's
rendered state; the caller renders, measures and re-plans with a smaller budget if an estimate
was short.

    >>> events_of_state({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"})
    5
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from orchestrator import limits, placeholders
from orchestrator.compiler import sp
from orchestrator.compiler.render import Call, Item, Par, Seq
from orchestrator.compiler.serialise import compact
from orchestrator.errors import CompileError
from orchestrator.limits import MAX_HISTORY_EVENTS

PRICE_PER_TRANSITION = 0.025 / 1000  # USD, Standard workflows: $0.025 per 1,000 transitions.

EXECUTION_EVENTS = 2  # ExecutionStarted + ExecutionSucceeded (or Failed)
PASS_EVENTS = 2  # PassStateEntered, PassStateExited
PARALLEL_EVENTS = 4  # ParallelStateEntered, ParallelStateStarted, ParallelStateSucceeded, ParallelStateExited
TASK_EVENTS = 5  # TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited
ATTEMPT_EVENTS = 3  # a failed attempt adds TaskScheduled, TaskStarted, TaskFailed
SYNC_EVENTS = 1  # .sync integrations add TaskSubmitted per attempt
FAIL_EVENTS = 1  # FailStateEntered
# Estimated bytes of a small JSON result per task at $.results.<task> (Batch: JobId + Status).
RESULT_BYTES = 70

# Estimates for planning, in deployed bytes (the real figures are measured after rendering;
# these are the largest each took in the bench DAGs, rounded up).
_PARALLEL_BYTES = 500  # the Parallel's own fields and its merge Pass
_BRANCH_BYTES = 360  # the branch object, its Fail state (~215), its share of the merge expression
_CALL_BYTES = 1_000  # the startExecution state and its merge Pass
_PASS_THROUGH_MAX = 16  # a run of child calls this short stays in the parent

# The longest ARN each kind of placeholder can be replaced with at deploy time: the resource name
# at its limit in the longest partition and Region there are (aws-us-gov, us-isof-south-1), with
# room for longer ones to come. AWS generates the names CDK does not set, and a substitutions file
# may name a qualified (alias or version) ARN, so nothing shorter is certain.
_PARTITION_MAX = 16
_REGION_MAX = 20
_QUALIFIER = len(":") + 128  # an alias name (Lambda's may be 128 characters, Step Functions' 80)


def _longest_arn(service: str, resource: int) -> int:
    """``arn:<partition>:<service>:<region>:<account>:`` then ``resource`` characters."""
    return len(f"arn::{service}::123456789012:") + _PARTITION_MAX + _REGION_MAX + resource


PLACEHOLDER_VALUE_MAX: Mapping[str, int] = MappingProxyType({
    placeholders.JOB_QUEUE: _longest_arn("batch", len("job-queue/") + limits.BATCH_QUEUE_NAME_MAX),
    # The revision is a 32-bit number: at most 10 digits.
    placeholders.JOB_DEFINITION: _longest_arn(
        "batch", len("job-definition/:") + limits.BATCH_JOB_DEFINITION_NAME_MAX + 10
    ),
    placeholders.FUNCTION: _longest_arn("lambda", len("function:") + limits.LAMBDA_FUNCTION_NAME_MAX + _QUALIFIER),
    placeholders.STATE_MACHINE: _longest_arn(
        "states", len("stateMachine:") + limits.STATE_MACHINE_NAME_MAX + _QUALIFIER
    ),
    placeholders.ALERT_TOPIC: _longest_arn("sns", limits.SNS_TOPIC_NAME_MAX),
    placeholders.JOB_LOG_GROUP: limits.LOG_GROUP_NAME_MAX,  # a name, not an ARN
})
# A placeholder of a kind not in the table (one a user wrote, or a new kind) counts as the longest.
_UNKNOWN_VALUE_MAX = max(PLACEHOLDER_VALUE_MAX.values())


def _value_max(key: str) -> int:
    """The longest value of placeholder ``key`` (the text between ``${`` and ``}``): its kind is
    the text up to the first ``_``, since no kind holds one (checked below)."""
    return PLACEHOLDER_VALUE_MAX.get(key.partition("_")[0], _UNKNOWN_VALUE_MAX)


if any("_" in kind for kind in PLACEHOLDER_VALUE_MAX):
    raise AssertionError("_value_max() reads a placeholder's kind as the text before its first '_'")


# What json.dumps writes as \\uXXXX or a two-character escape in ASCII text, besides '"' and '\\'.
_CONTROLS = bytes(range(0x20)) + b"\x7f"


def deployed_bytes(text: str, keys: Sequence[str] | None = None) -> int:
    """What the compact definition ``text`` can take in a CreateStateMachine request at worst:
    each placeholder as its longest value (``PLACEHOLDER_VALUE_MAX``; ARNs need no escaping), and
    the text escaped as a JSON string with non-ASCII as ``\\uXXXX``, as the AWS SDKs send it.
    Both 1 MB quotas (definition, and request) hold when this fits under 1 MB less the rest of
    the request. Additive: the figure of a text is the sum of the figures of its pieces.
    ``keys``: ``placeholders.PATTERN.findall(text)``, when the caller has them.

    >>> deployed_bytes('{"a":"b"}')  # each quote escaped
    13
    >>> deployed_bytes('"${JobQueue_default}"') - deployed_bytes('""') == PLACEHOLDER_VALUE_MAX["JobQueue"]
    True
    """
    data = text.encode("ascii") if text.isascii() else b""
    if data and len(data.translate(None, _CONTROLS)) == len(data):
        # Printable ASCII: json.dumps escapes only '"' and '\\', as two characters each. Counted
        # in C without building the escaped copy of a 1 MB text (3 times as fast).
        escaped = 2 * len(data) - len(data.translate(None, b'"\\'))
    else:
        escaped = len(json.dumps(text)) - 2
    if keys is None:
        keys = placeholders.PATTERN.findall(text)
    # Each "${key}" (3 characters and the key) becomes a value of at most _value_max(key), here
    # inlined: a 10,000-task machine has 20,000 placeholders.
    table, unknown = PLACEHOLDER_VALUE_MAX, _UNKNOWN_VALUE_MAX
    longest = sum([table.get(key.partition("_")[0], unknown) for key in keys])
    return escaped + longest - sum(map(len, keys)) - 3 * len(keys)


_CALL_EVENTS = TASK_EVENTS + SYNC_EVENTS + 3 * (ATTEMPT_EVENTS + SYNC_EVENTS) + PASS_EVENTS


_EVENTS = {"Pass": PASS_EVENTS, "Fail": FAIL_EVENTS, "Parallel": PARALLEL_EVENTS}


def events_of_state(state: Mapping[str, Any]) -> int:
    """Worst-case events of one Task/Pass/Fail state (not descending into Parallel branches)."""
    kind = state["Type"]
    if kind != "Task":
        return _EVENTS.get(kind, PASS_EVENTS)
    sync = SYNC_EVENTS if ".sync" in str(state.get("Resource", "")) else 0
    retries = 0
    for retrier in state.get("Retry", ()):
        retries += int(retrier.get("MaxAttempts", 3))
    return TASK_EVENTS + sync + retries * (ATTEMPT_EVENTS + sync)


def _success_path(graph: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """States entered on a successful run, following Next from StartAt, branches included (each
    branch before what follows its Parallel), iteratively whatever the nesting."""
    path: list[Mapping[str, Any]] = []
    enter = path.append
    stack: list[tuple[Mapping[str, Any], str | None]] = [(graph["States"], graph["StartAt"])]
    while stack:
        states, name = stack.pop()
        while name is not None:
            state = states[name]
            enter(state)
            name = state.get("Next") or state.get("Default")  # a Choice goes on by its Default
            if state["Type"] == "Parallel":
                stack.append((states, name))
                stack.extend((b["States"], b["StartAt"]) for b in reversed(state["Branches"]))
                break
    return path


def _shape(graph: Mapping[str, Any]) -> tuple[int, int]:
    """(states, most task states running at once) of a machine, branches included: 1, or the
    widest Parallel's, each branch counting as many as it can run itself. One walk of the
    scopes, parents before their branches, then the widths of the scopes holding Parallels bottom
    up (a scope without one runs one state at a time: most are branches of a fan-out)."""
    scopes: list[tuple[Mapping[str, Any], list[Mapping[str, Any]]]] = []  # (scope, its Parallels)
    states = 0
    stack = [graph]
    while stack:
        scope = stack.pop()
        members = scope["States"]
        states += len(members)
        parallels = []
        for state in members.values():
            branches = state.get("Branches")
            if branches:
                stack.extend(branches)
                if state["Type"] == "Parallel":
                    parallels.append(state)
        if parallels:
            scopes.append((scope, parallels))
    widest: dict[int, int] = {}
    for scope, parallels in reversed(scopes):
        most = 1
        for state in parallels:
            most = max(most, sum([widest.get(id(b), 1) for b in state["Branches"]]))
        widest[id(scope)] = most
    return states, widest.get(id(graph), 1)


@dataclass(frozen=True, slots=True)
class MachineReport:
    """Figures for one state machine (one ``.asl.json``)."""

    name: str
    states: int
    transitions: int
    events: int
    bytes: int  # the compact definition as compiled, UTF-8 (what ``CompileResult.deployed`` holds)
    deployed_bytes: int  # what the 1 MB quotas are checked on (see :func:`deployed_bytes`)

    @property
    def kib(self) -> float:
        return self.bytes / 1024

    @property
    def cost(self) -> float:
        """USD per successful run for this machine's own transitions."""
        return self.transitions * PRICE_PER_TRANSITION


@dataclass(frozen=True, slots=True)
class Report:
    """Per machine and total figures; ``str(report)`` is a small table."""

    machines: tuple[MachineReport, ...]
    tasks: int
    result_bytes: int  # estimated size of $.results at the end of a run

    @property
    def states(self) -> int:
        return sum(m.states for m in self.machines)

    @property
    def transitions(self) -> int:
        return sum(m.transitions for m in self.machines)

    @property
    def events(self) -> int:
        """Largest worst-case history of any one execution (each has its own 25,000 quota)."""
        return max(m.events for m in self.machines)

    @property
    def bytes(self) -> int:
        return sum(m.bytes for m in self.machines)

    @property
    def kib(self) -> float:
        return self.bytes / 1024

    @property
    def cost(self) -> float:
        return self.transitions * PRICE_PER_TRANSITION

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The figures as a text table (what ``orchestrator compile --report`` prints)."""
        rows = [f"{'machine':<40} {'states':>7} {'trans.':>7} {'events':>7} {'KiB':>8} {'$/run':>9}"]
        for m in self.machines:
            rows.append(
                f"{m.name[:40]:<40} {m.states:>7} {m.transitions:>7} {m.events:>7} {m.kib:>8.1f} {m.cost:>9.5f}"
            )
        rows.append(
            f"{'total':<40} {self.states:>7} {self.transitions:>7} {self.events:>7} {self.kib:>8.1f} "
            f"{self.cost:>9.5f}"
        )
        rows.append(
            f"tasks: {self.tasks}; events column of total = largest single execution "
            f"(limit {MAX_HISTORY_EVENTS:,} each); estimated results payload: {self.result_bytes / 1024:.1f} KiB"
        )
        rows.append(
            "KiB: compact JSON as deployed; each machine, with every placeholder at its longest ARN and "
            f"escaped as sent, takes at most {max(m.deployed_bytes for m in self.machines) / 1024:.1f} KiB "
            f"of the {limits.MAX_DEFINITION_BYTES // 1024} KiB allowed"
        )
        return "\n".join(rows)


def success_events(definition: Mapping[str, Any]) -> int:
    """History events of a run that succeeds with no retries (what a good night looks like).

    >>> success_events({"StartAt": "p", "States": {"p": {"Type": "Pass", "End": True}}})
    4
    """
    total = EXECUTION_EVENTS
    for state in _success_path(definition):
        if state["Type"] == "Task":
            total += TASK_EVENTS + (SYNC_EVENTS if ".sync" in str(state.get("Resource", "")) else 0)
        else:
            total += events_of_state(state)
    return total


def measure(
    name: str,
    definition: Mapping[str, Any],
    text: str,
    *,
    failure_start: str | None,
    keys: Sequence[str] | None = None,
) -> MachineReport:
    """Figures for a rendered machine, ``text`` being its compact JSON (``serialise.compact``);
    ``failure_start`` is where its failure path begins; ``keys`` as for :func:`deployed_bytes`."""
    success = _success_path(definition)
    events = EXECUTION_EVENTS + sum(map(events_of_state, success))
    states, in_flight = _shape(definition)
    if failure_start is not None and failure_start in definition["States"]:
        failure = _success_path({"StartAt": failure_start, "States": definition["States"]})
        events += sum(map(events_of_state, failure))
        # A failing branch aborts the others: one TaskStateAborted per task still running.
        events += in_flight - 1
    return MachineReport(
        name=name,
        states=states,
        transitions=len(success),
        events=events,
        bytes=len(text) if text.isascii() else len(text.encode()),
        deployed_bytes=deployed_bytes(text, keys),
    )


@dataclass(frozen=True, slots=True)
class LeafCost:
    """A task state's worst-case history events and its :func:`deployed_bytes` in a machine."""

    events: int
    bytes: int

    # What the measurement cannot see: the real Next and Catch targets ("Parallel 12 results",
    # "Run part 3") are longer than the ones the state is measured with, a branch's last state
    # adds an OutputPath, and a member of States is followed by a comma.
    EXTRA = 64

    @classmethod
    def of(cls, name: str, state: Mapping[str, Any]) -> LeafCost:
        """The cost of ``state`` as member ``name`` of a machine's States."""
        text = compact({name: state})
        return cls(events=events_of_state(state), bytes=deployed_bytes(text) + cls.EXTRA)


class Planner:
    """Cuts an item tree into machines whose estimated events and bytes fit the budgets.

    Compact JSON has no indentation, so what a subtree costs does not depend on how deeply it
    nests: one figure per item, wherever it ends up.
    """

    def __init__(
        self,
        leaves: Mapping[str, LeafCost],
        *,
        max_events: int,
        max_bytes: int,
        child_name: Callable[[int], str],
    ) -> None:
        self.leaves = leaves
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.child_name = child_name
        self.children: list[tuple[int, str, Item]] = []  # (number, name, body), in number order
        self._events: dict[int, tuple[Item, int]] = {}
        self._bytes: dict[int, tuple[Item, int]] = {}

    # -- estimates ----------------------------------------------------------------------------
    def events(self, item: Item) -> int:
        if type(item) is sp.Leaf:  # a table lookup already: not memoised
            return self.leaves[item.task].events
        hit = self._events.get(id(item))
        if hit is not None and hit[0] is item:
            return hit[1]
        if isinstance(item, sp.Leaf):
            value = self.leaves[item.task].events
        elif isinstance(item, Call):
            value = _CALL_EVENTS
        elif isinstance(item, Seq):
            value = sum(self.events(i) for i in item.items)
        else:
            value = PARALLEL_EVENTS + PASS_EVENTS + sum(self.events(b) for b in item.branches)
        self._events[id(item)] = (item, value)
        return value

    def bytes(self, item: Item) -> int:
        # Memoised like events(): shrink() asks again for every subtree at every level above it,
        # which without this is quadratic in the nesting depth.
        if type(item) is sp.Leaf:
            return self.leaves[item.task].bytes
        hit = self._bytes.get(id(item))
        if hit is not None and hit[0] is item:
            return hit[1]
        if isinstance(item, sp.Leaf):
            value = self.leaves[item.task].bytes
        elif isinstance(item, Call):
            value = _CALL_BYTES
        elif isinstance(item, Seq):
            value = sum(self.bytes(i) for i in item.items)
        else:
            value = _PARALLEL_BYTES + sum(_BRANCH_BYTES + self.bytes(b) for b in item.branches)
        self._bytes[id(item)] = (item, value)
        return value

    def fits(self, item: Item) -> bool:
        return self.events(item) <= self.max_events and self.bytes(item) <= self.max_bytes

    # -- cutting ------------------------------------------------------------------------------
    def shrink(self, item: Item) -> Item:
        """``item`` or a replacement running parts of it as children, fitting the budgets."""
        if self.fits(item) or isinstance(item, Call):
            return item
        if isinstance(item, sp.Leaf):
            events = self.leaves[item.task].events
            raise CompileError(
                f"Task '{item.task}' alone may need {events} history events (retries included), "
                f"over the budget of {self.max_events} per execution. Lower its retry attempts, "
                "e.g. retries: {attempts: 10}."
            )
        parallel = isinstance(item, Par)
        # Bottom up: first make every part fit where it stands, so the deepest, largest subtrees
        # become children (top down, a deep tree would be peeled into a chain of tiny children).
        items = [self.shrink(i) for i in (item.branches if isinstance(item, Par) else item.items)]
        new_whole: Item = Par(tuple(items)) if parallel else Seq(tuple(items))
        if self.fits(new_whole):
            return new_whole
        groups = self._pack(items, parallel=parallel)
        inline = self._keep_inline(groups, parallel=parallel)
        parts: list[Item] = []
        for i, group in enumerate(groups):
            if i in inline:
                parts.extend(group)
            else:
                parts.append(self._call(group, parallel=parallel))
        if parts == items:  # nothing left to cut out: only child calls, and still too big
            raise CompileError(
                f"Cannot split to fit {self.max_events} history events and {self.max_bytes} bytes per "
                f"state machine: {len(parts)} parts side by side do not fit even as child machines. "
                "Raise the limits."
            )
        new: Item = Par(tuple(parts)) if parallel else Seq(tuple(parts))
        return new if self.fits(new) else self.shrink(new)

    def _keep_inline(self, groups: list[list[Item]], *, parallel: bool) -> set[int]:
        """Groups that can stay in this machine: smallest first, while it still fits.

        Without this, the small items between two big ones would each become a tiny child.
        """
        extra = _BRANCH_BYTES if parallel else 0

        def inline_cost(group: list[Item]) -> tuple[int, int]:
            return (
                sum(self.events(i) for i in group),
                sum(self.bytes(i) + extra for i in group),
            )

        events = (PARALLEL_EVENTS + PASS_EVENTS if parallel else 0) + _CALL_EVENTS * len(groups)
        size = (_PARALLEL_BYTES if parallel else 0) + (_CALL_BYTES + extra) * len(groups)
        costs = [inline_cost(g) for g in groups]
        keep: set[int] = set()
        for i in sorted(range(len(groups)), key=lambda i: (costs[i][1], i)):
            e = events + costs[i][0] - _CALL_EVENTS
            b = size + costs[i][1] - _CALL_BYTES - extra
            if e <= self.max_events and b <= self.max_bytes:
                keep.add(i)
                events, size = e, b
        return keep

    def _pack(self, items: list[Item], *, parallel: bool) -> list[list[Item]]:
        """Consecutive runs of items, each small enough to be one child machine."""
        groups: list[list[Item]] = []
        current: list[Item] = []
        events = PARALLEL_EVENTS + PASS_EVENTS if parallel else 0
        size = _PARALLEL_BYTES if parallel else 0
        for item in items:
            e = self.events(item)
            b = self.bytes(item) + (_BRANCH_BYTES if parallel else 0)
            if current and (events + e > self.max_events or size + b > self.max_bytes):
                groups.append(current)
                current = []
                events = PARALLEL_EVENTS + PASS_EVENTS if parallel else 0
                size = _PARALLEL_BYTES if parallel else 0
            current.append(item)
            events += e
            size += b
        if current:
            groups.append(current)
        return groups

    def _call(self, group: list[Item], *, parallel: bool) -> Item:
        """Run ``group`` as a child machine; children are numbered in the order they are finished."""
        if len(group) == 1 and isinstance(group[0], Call):
            return group[0]
        body: Item = group[0] if len(group) == 1 else (Par(tuple(group)) if parallel else Seq(tuple(group)))
        shrunk = self.shrink(body)
        parts = (
            shrunk.items if isinstance(shrunk, Seq) else shrunk.branches if isinstance(shrunk, Par) else ()
        )
        if parts and len(parts) <= _PASS_THROUGH_MAX and all(isinstance(p, Call) for p in parts):
            # A child that would only start other children: let the caller start them itself.
            return shrunk
        index = len(self.children) + 1
        name = self.child_name(index)
        self.children.append((index, name, shrunk))
        return Call(name, index)
