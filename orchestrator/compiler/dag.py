"""DAG algorithms: checked construction, deterministic topological order, critical path,
transitive reduction.

Everything here is deterministic: ties are broken by the position of a task in the ``tasks``
sequence the caller gave, never by dict/set iteration or hashing, so the same workflow always
compiles to byte-identical ASL.

>>> dag = build(["a", "b", "c"], {"c": ["a", "b"], "b": ["a"]})
>>> dag.names
('a', 'b', 'c')
>>> reduced(["a", "b", "c"], {"c": ["a", "b"], "b": ["a"]})
{'a': (), 'b': ('a',), 'c': ('b',)}
>>> critical_path(["a", "b", "c"], {"c": ["a"]}, {"a": 2.0, "c": 3.0})
5.0
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.errors import CompileError


class CycleError(CompileError):
    """The dependencies form a cycle; ``cycle`` lists it, first task repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle: tuple[str, ...] = tuple(cycle)
        path = " -> ".join(self.cycle)
        super().__init__(
            f"dependency cycle: {path} (each task runs after the one before it). "
            f"Remove one of these 'after' entries to break it."
        )


@dataclass(frozen=True, slots=True)
class Dag:
    """A checked DAG with tasks renumbered 0..n-1 in topological order.

    ``preds[i]``/``succs[i]`` hold the *full* dependency edges (deduplicated, ascending), so an
    index is always greater than the indices of its predecessors.
    """

    names: tuple[str, ...]
    preds: tuple[tuple[int, ...], ...]
    succs: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.names)


def _check_weight(task: str, value: float) -> float:
    weight = float(value)
    if math.isnan(weight) or weight < 0 or math.isinf(weight):
        raise CompileError(f"task '{task}': expected duration must be a finite number >= 0, got {value!r}")
    return weight


def _find_cycle(blocked: list[int], deps: list[list[int]], names: Sequence[str]) -> list[str]:
    """A concrete cycle among ``blocked`` tasks (those Kahn's algorithm could not order)."""
    remaining = set(blocked)
    start = min(blocked)
    seen: dict[int, int] = {}
    path: list[int] = []
    node = start
    # Every blocked task has a blocked dependency, so walking dependencies must revisit a task.
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(d for d in deps[node] if d in remaining)
    cycle = path[seen[node] :]
    cycle.reverse()  # dependencies walk backwards; print in run order
    first = cycle.index(min(cycle))  # start at the task listed first, for a stable message
    cycle = cycle[first:] + cycle[:first]
    return [names[i] for i in cycle] + [names[cycle[0]]]


def build(
    tasks: Sequence[str],
    after: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
) -> Dag:
    """Check ``tasks``/``after`` and renumber tasks in a deterministic topological order.

    Among tasks that are ready at the same time, the one listed first in ``tasks`` comes first.
    Raises ``CompileError`` for duplicate tasks, unknown dependencies, bad weights and
    ``CycleError`` for cycles. Missing weights are 1.0.

    >>> build(["b", "a"], {"b": ["a"]}).names
    ('a', 'b')
    """
    position: dict[str, int] = {}
    for i, name in enumerate(tasks):
        if name in position:
            raise CompileError(f"task '{name}' is listed twice; task names must be unique")
        position[name] = i
    for name in after:
        if name not in position:
            raise CompileError(f"dependencies given for unknown task '{name}'")
    n = len(tasks)
    deps: list[list[int]] = []
    listed_in_order = True  # every task listed after all of its dependencies
    for i, name in enumerate(tasks):
        given = after.get(name)
        if not given:
            deps.append([])
            continue
        try:
            row = {position[dep] for dep in given}
        except KeyError:
            row = {i}  # an unknown dependency: reported below
        if i in row:
            _raise_bad_dependency(name, given, position)
        deps.append(sorted(row))
        if listed_in_order and deps[-1][-1] > i:
            listed_in_order = False
    dependents: list[list[int]] = [[] for _ in range(n)]
    for v in range(n):
        for u in deps[v]:
            dependents[u].append(v)  # v ascending, so each list is sorted
    wmap = weights or {}
    if listed_in_order:
        # Then the order below is the listed one (the first task not yet placed always has all
        # its dependencies placed, so it is the first ready): nothing to renumber.
        names = tuple(tasks)
        return Dag(
            names=names,
            preds=tuple(map(tuple, deps)),
            succs=tuple(map(tuple, dependents)),
            weights=_weights(names, wmap),
        )
    indegree = [len(d) for d in deps]
    ready = [v for v in range(n) if indegree[v] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        u = heapq.heappop(ready)
        order.append(u)
        for v in dependents[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                heapq.heappush(ready, v)
    if len(order) < n:
        placed = set(order)
        raise CycleError(_find_cycle([v for v in range(n) if v not in placed], deps, tasks))
    new_index = [0] * n
    for new, old in enumerate(order):
        new_index[old] = new
    names = tuple([tasks[old] for old in order])
    renumber = new_index.__getitem__
    preds = tuple([tuple(sorted(map(renumber, deps[old]))) for old in order])
    succ_lists: list[list[int]] = [[] for _ in range(n)]
    for v in range(n):
        for u in preds[v]:
            succ_lists[u].append(v)  # v ascending, so each list is sorted
    return Dag(
        names=names,
        preds=preds,
        succs=tuple(map(tuple, succ_lists)),
        weights=_weights(names, wmap),
    )


def _raise_bad_dependency(name: str, given: Sequence[str], position: Mapping[str, int]) -> None:
    """Raise the error for the first dependency of ``name`` that is unknown or ``name`` itself."""
    for dep in given:
        if dep not in position:
            raise CompileError(
                f"task '{name}' runs after unknown task '{dep}'; 'after' must name tasks of this workflow"
            )
        if dep == name:
            raise CycleError([name, name])


def _weights(names: Sequence[str], wmap: Mapping[str, float]) -> tuple[float, ...]:
    """Each task's checked weight (1.0 when missing), in the order of ``names``."""
    values = tuple([float(wmap.get(name, 1.0)) for name in names])
    if all([0.0 <= x < math.inf for x in values]):  # no NaN, negative or infinite weight
        return values
    return tuple(_check_weight(name, wmap.get(name, 1.0)) for name in names)


def topological_order(tasks: Sequence[str], after: Mapping[str, Sequence[str]]) -> list[str]:
    """Tasks in dependency order; ties go to the task listed first.

    >>> topological_order(["c", "b", "a"], {"c": ["a"]})
    ['b', 'a', 'c']
    """
    return list(build(tasks, after).names)


def earliest_finish(dag: Dag) -> list[float]:
    """Finishing time of each task when every task starts as soon as its dependencies finish."""
    finish = [0.0] * len(dag)
    for v in range(len(dag)):
        start = 0.0
        for u in dag.preds[v]:
            if finish[u] > start:
                start = finish[u]
        finish[v] = start + dag.weights[v]
    return finish


def critical_path(
    tasks: Sequence[str],
    after: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
) -> float:
    """Length of the longest weighted path: no schedule of the DAG can finish sooner.

    >>> critical_path(["a", "b"], {}, {"a": 2.0, "b": 3.0})
    3.0
    """
    dag = build(tasks, after, weights)
    return max(earliest_finish(dag), default=0.0)


def reduce_edges(dag: Dag) -> tuple[list[list[int]], list[list[int]]]:
    """Transitive reduction: ``(preds, succs)`` keeping only edges not implied by other paths.

    Reachability sets are Python ints used as bitsets (bit i = task i), built from the sinks
    backwards; a successor ``s`` of ``u`` is redundant when an earlier-ordered kept successor
    already reaches it. Memory is n²/8 bytes (12.5 MB for 10,000 tasks).
    """
    n = len(dag)
    reach = [0] * n  # reach[u]: bitset of tasks reachable from u, u excluded
    # through[s]: reach[s] with s added, made once per s: tasks with a single successor (the
    # commonest kind, and thousands of them at a hub) share it instead of each building
    # another n-bit int.
    through: list[int | None] = [None] * n
    succs: list[list[int]] = [[] for _ in range(n)]
    for u in range(n - 1, -1, -1):
        row = dag.succs[u]
        if len(row) == 1:
            (s,) = row
            shared = through[s]
            if shared is None:
                shared = through[s] = reach[s] | (1 << s)
            reach[u] = shared
            succs[u] = [s]
            continue
        covered = 0
        kept: list[int] = []
        for s in row:  # ascending = topological order, so a covering succ comes first
            if (covered >> s) & 1:
                continue
            kept.append(s)
            covered |= reach[s] | (1 << s)
        reach[u] = covered
        succs[u] = kept
    preds: list[list[int]] = [[] for _ in range(n)]
    for u in range(n):
        for s in succs[u]:
            preds[s].append(u)
    return preds, succs


def reduced(tasks: Sequence[str], after: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The transitive reduction as ``{task: dependencies}``, in topological order."""
    dag = build(tasks, after)
    preds, _ = reduce_edges(dag)
    return {dag.names[v]: tuple(dag.names[u] for u in preds[v]) for v in range(len(dag))}
