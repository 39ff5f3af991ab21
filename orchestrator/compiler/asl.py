"""Typed Amazon States Language builders: one class per state type, each rendering itself.

A :class:`StateMachine` is checked when it is built, not when AWS rejects it at deploy time:
every ``Next`` and ``Catch`` target exists in the same scope, ``StartAt`` exists, names are unique
across the whole machine (AWS requires that even across Parallel branches), names fit in
``limits.STATE_NAME_MAX`` characters, and every state is reachable. Each problem raises :class:`CompileError` naming the
state.

Keys are rendered in one fixed, readable order (Type first, transitions last) so the same machine
always serialises to the same bytes; empty optional fields are dropped.

    >>> machine = StateMachine(graph=Graph(start_at="hello", states=(
    ...     Pass(name="hello", result={"greeting": "hi"}, next=None),)))
    >>> machine.render()["States"]["hello"]["End"]
    True
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import CompileError
from orchestrator.limits import STATE_NAME_MAX

Json = Any


class QueryLanguage(enum.StrEnum):
    JSONPATH = "JSONPath"
    JSONATA = "JSONata"


class StateType(enum.StrEnum):
    TASK = "Task"
    PASS = "Pass"
    PARALLEL = "Parallel"
    FAIL = "Fail"
    SUCCEED = "Succeed"
    CHOICE = "Choice"
    WAIT = "Wait"


def _drop_empty(pairs: Sequence[tuple[str, Json]]) -> dict[str, Json]:
    """Render only the fields that are set: ``None`` and empty lists/dicts are left out."""
    # `v or ...`: most values are truthy and need no comparison (rendering 10,000 states runs
    # this for every field of every state).
    return {k: v for k, v in pairs if v is not None and (v or (v != [] and v != {}))}


@dataclass(frozen=True, slots=True, kw_only=True)
class Retrier:
    """One ``Retry`` entry. ``jitter`` is rendered only when it is ``FULL`` (NONE is the default)."""

    errors: tuple[str, ...]
    interval: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay: int | None = None
    jitter_full: bool = False

    def __post_init__(self) -> None:
        if "States.ALL" in self.errors and len(self.errors) != 1:
            # AWS: "States.ALL must appear alone in its ErrorEquals array".
            raise CompileError(f"States.ALL must be alone in ErrorEquals. Received {list(self.errors)}.")

    def render(self) -> dict[str, Json]:
        backoff: Json = int(self.backoff_rate) if float(self.backoff_rate).is_integer() else self.backoff_rate
        return _drop_empty(
            [
                ("ErrorEquals", list(self.errors)),
                ("IntervalSeconds", self.interval),
                ("MaxAttempts", self.max_attempts),
                ("BackoffRate", backoff),
                ("MaxDelaySeconds", self.max_delay),
                ("JitterStrategy", "FULL" if self.jitter_full else None),
            ]
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Catcher:
    """One ``Catch`` entry; ``result_path`` (JSONPath) or ``output`` (JSONata) shapes the error."""

    errors: tuple[str, ...] = ("States.ALL",)
    next: str
    result_path: str | None = None
    output: Json = None

    def render(self) -> dict[str, Json]:
        return _drop_empty(
            [
                ("ErrorEquals", list(self.errors)),
                ("ResultPath", self.result_path),
                ("Output", self.output),
                ("Next", self.next),
            ]
        )


def _check_retriers(state: str, retry: Sequence[Retrier]) -> None:
    for i, r in enumerate(retry):
        if "States.ALL" in r.errors and i != len(retry) - 1:
            raise CompileError(f"State '{state}': a retrier with States.ALL must be the last one.")


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """Fields every state has. ``next=None`` on a state that can continue means ``End: true``."""

    name: str
    comment: str | None = None
    query_language: QueryLanguage | None = None
    next: str | None = None

    type = StateType.PASS  # overridden per class; not a dataclass field

    @property
    def terminal(self) -> bool:
        """Fail and Succeed end the execution (or branch) and take neither Next nor End."""
        return False

    def catchers(self) -> tuple[Catcher, ...]:
        return ()

    def targets(self) -> tuple[str, ...]:
        """Names this state can transition to within its own scope (Next first, then Catch)."""
        catchers = self.catchers()
        if not catchers:  # most states (every Graph check asks each state)
            return () if self.next is None else (self.next,)
        caught = tuple(catcher.next for catcher in catchers)
        return caught if self.next is None else (self.next, *caught)

    def body(self) -> list[tuple[str, Json]]:
        return []

    def render(self) -> dict[str, Json]:
        return self._render(self.body())

    def _render(self, body: list[tuple[str, Json]]) -> dict[str, Json]:
        head: list[tuple[str, Json]] = [("Type", str(self.type)), ("Comment", self.comment)]
        if self.query_language is not None:
            head.append(("QueryLanguage", str(self.query_language)))
        tail: list[tuple[str, Json]] = []
        if not self.terminal:
            tail = [("Next", self.next)] if self.next is not None else [("End", True)]
        return _drop_empty(head + body + tail)


@dataclass(frozen=True, slots=True, kw_only=True)
class Pass(State):
    type = StateType.PASS
    parameters: Json = None
    result: Json = None
    result_path: str | None = None
    output_path: str | None = None
    output: Json = None  # JSONata
    assign: Json = None  # workflow variables, set when the state finishes

    def body(self) -> list[tuple[str, Json]]:
        return [
            ("Parameters", self.parameters),
            ("Result", self.result),
            ("ResultPath", self.result_path),
            ("OutputPath", self.output_path),
            ("Output", self.output),
            ("Assign", self.assign),
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Task(State):
    type = StateType.TASK
    resource: str
    parameters: Json = None  # JSONPath
    arguments: Json = None  # JSONata
    result_selector: Json = None
    result_path: str | None = None
    output_path: str | None = None
    output: Json = None  # JSONata
    timeout_seconds: int | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    assign: Json = None  # workflow variables, set when the state succeeds

    def __post_init__(self) -> None:
        _check_retriers(self.name, self.retry)

    def catchers(self) -> tuple[Catcher, ...]:
        return self.catch

    def body(self) -> list[tuple[str, Json]]:
        return [
            ("Resource", self.resource),
            ("Parameters", self.parameters),
            ("Arguments", self.arguments),
            ("ResultSelector", self.result_selector),
            ("ResultPath", self.result_path),
            ("OutputPath", self.output_path),
            ("Output", self.output),
            ("TimeoutSeconds", self.timeout_seconds),
            ("Retry", [r.render() for r in self.retry]),
            ("Catch", [c.render() for c in self.catch]),
            ("Assign", self.assign),
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Parallel(State):
    type = StateType.PARALLEL
    branches: tuple[Graph, ...]
    parameters: Json = None
    result_selector: Json = None
    result_path: str | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()

    def __post_init__(self) -> None:
        if not self.branches:
            raise CompileError(f"Parallel state '{self.name}' has no branches.")
        _check_retriers(self.name, self.retry)

    def catchers(self) -> tuple[Catcher, ...]:
        return self.catch

    def render(self, branches: list[Json] | None = None) -> dict[str, Json]:
        """``branches``: what to render as Branches (for a caller that renders the branches
        itself, writing their text as it goes; see ``emit.Writer``), else the branches rendered."""
        return self._render(self.body() if branches is None else self._body(branches))

    def body(self) -> list[tuple[str, Json]]:
        return self._body([b.render() for b in self.branches])

    def _body(self, branches: list[Json]) -> list[tuple[str, Json]]:
        return [
            ("Branches", branches),
            ("Parameters", self.parameters),
            ("ResultSelector", self.result_selector),
            ("ResultPath", self.result_path),
            ("Retry", [r.render() for r in self.retry]),
            ("Catch", [c.render() for c in self.catch]),
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice(State):
    """A JSONata Choice: the first ``(condition, next)`` whose condition is true, else ``default``."""

    type = StateType.CHOICE
    choices: tuple[tuple[str, str], ...]
    default: str

    def __post_init__(self) -> None:
        if not self.choices:
            raise CompileError(f"Choice state '{self.name}' has no choices.")

    @property
    def terminal(self) -> bool:
        return True  # takes neither Next nor End: its rules say where to go

    def targets(self) -> tuple[str, ...]:
        return (*(target for _, target in self.choices), self.default)

    def body(self) -> list[tuple[str, Json]]:
        rules: list[Json] = [{"Condition": condition, "Next": target} for condition, target in self.choices]
        return [("Choices", rules), ("Default", self.default)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fail(State):
    type = StateType.FAIL
    error: str | None = None
    cause: str | None = None
    error_path: str | None = None
    cause_path: str | None = None

    @property
    def terminal(self) -> bool:
        return True

    def render(self) -> dict[str, Json]:
        # State.render() without its list building: every branch of a wide Parallel ends in a Fail.
        pairs = (
            ("Type", "Fail"),
            ("Comment", self.comment),
            ("QueryLanguage", None if self.query_language is None else str(self.query_language)),
            ("Error", self.error),
            ("ErrorPath", self.error_path),
            ("Cause", self.cause),
            ("CausePath", self.cause_path),
        )
        return {k: v for k, v in pairs if v is not None}

    def body(self) -> list[tuple[str, Json]]:
        return [
            ("Error", self.error),
            ("ErrorPath", self.error_path),
            ("Cause", self.cause),
            ("CausePath", self.cause_path),
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Succeed(State):
    type = StateType.SUCCEED

    @property
    def terminal(self) -> bool:
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait(State):
    type = StateType.WAIT
    seconds: int

    def body(self) -> list[tuple[str, Json]]:
        return [("Seconds", self.seconds)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Graph:
    """A scope of states: the whole machine or one Parallel branch. Checked on construction."""

    start_at: str
    states: tuple[State, ...]
    _by_name: Mapping[str, State] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, State] = {}
        for state in self.states:
            name = state.name
            if not name or len(name) > STATE_NAME_MAX:
                raise CompileError(
                    f"State name '{name}' must be 1..{STATE_NAME_MAX} characters. Received {len(name)}."
                )
            if name in by_name:
                raise CompileError(f"State '{name}' is defined twice in the same scope.")
            if state.next is not None and state.terminal:
                raise CompileError(f"State '{name}' is a {state.type} state and cannot have Next.")
            by_name[name] = state
        object.__setattr__(self, "_by_name", by_name)
        if self.start_at not in by_name:
            raise CompileError(f"StartAt '{self.start_at}' is not a state of this scope.")
        # One walk from StartAt checks both that targets exist and that every state is reached
        # (a 10,000-state machine is checked on every compile); only a machine that fails
        # either is walked again in order, to name the first state at fault.
        seen = {self.start_at}
        todo = [by_name[self.start_at]]
        unknown = False
        while todo:
            for target in todo.pop().targets():
                if target not in seen:
                    if target not in by_name:
                        unknown = True
                        continue
                    seen.add(target)
                    todo.append(by_name[target])
        if unknown or len(seen) != len(by_name):
            for state in self.states:
                for target in state.targets():
                    if target not in by_name:
                        raise CompileError(f"State '{state.name}' goes to '{target}', which is not in its scope.")
            for state in self.states:
                if state.name not in seen:
                    raise CompileError(f"State '{state.name}' is unreachable from '{self.start_at}'.")

    def state(self, name: str) -> State:
        return self._by_name[name]

    def walk(self) -> Iterator[State]:
        """Every state, descending into Parallel branches, in definition order (iteratively: a
        generator per level would pass each state up through every level above it)."""
        stack: list[Iterator[State]] = [iter(self.states)]
        while stack:
            for state in stack[-1]:
                yield state
                if isinstance(state, Parallel):
                    stack.extend(iter(branch.states) for branch in reversed(state.branches))
                    break
            else:
                stack.pop()

    def scopes(self) -> Iterator[Graph]:
        """This graph and every Parallel branch in it, at any depth."""
        stack: list[Graph] = [self]
        while stack:
            graph = stack.pop()
            yield graph
            for state in graph.states:
                if isinstance(state, Parallel):
                    stack.extend(state.branches)

    def render(self) -> dict[str, Json]:
        return {"StartAt": self.start_at, "States": {s.name: s.render() for s in self.states}}


@dataclass(frozen=True, slots=True, kw_only=True)
class StateMachine:
    """The top level: a graph plus Comment, TimeoutSeconds and the default QueryLanguage."""

    graph: Graph
    comment: str | None = None
    timeout_seconds: int | None = None
    query_language: QueryLanguage | None = None

    def __post_init__(self) -> None:
        # Names are unique in each scope (Graph checks that): count them across scopes, and walk
        # the states to name a repeated one only when the counts say there is one.
        names: set[str] = set()
        count = 0
        for scope in self.graph.scopes():
            names.update(scope._by_name)
            count += len(scope._by_name)
        if len(names) == count:
            return
        seen: set[str] = set()
        for state in self.graph.walk():
            if state.name in seen:
                # AWS: state names must be unique within the whole machine, branches included.
                raise CompileError(
                    f"State '{state.name}' occurs more than once (Parallel branches included); "
                    "names must be unique across the state machine."
                )
            seen.add(state.name)

    def render(self, graph: dict[str, Json] | None = None) -> dict[str, Json]:
        """``graph``: the graph's dict, when the caller rendered it (``emit.Writer``)."""
        out: dict[str, Json] = _drop_empty(
            [
                ("Comment", self.comment),
                ("QueryLanguage", str(self.query_language) if self.query_language else None),
                ("TimeoutSeconds", self.timeout_seconds),
            ]
        )
        out.update(self.graph.render() if graph is None else graph)
        return out
