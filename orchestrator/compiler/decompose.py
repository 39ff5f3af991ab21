"""Turn any DAG into a series-parallel structure, adding as little waiting as possible.

Step Functions can only chain states and run ``Parallel`` states, and a Parallel waits for all
of its branches. A DAG that is not series-parallel (the smallest is the "N": a->c, b->c, b->d)
cannot be run as drawn: some task has to wait for something it does not depend on. The measure
is the simulated makespan of the structure divided by the critical path, with each task's
expected duration as its weight (``ratio``).

How ``decompose`` works, on the transitive reduction (redundant edges only hide structure):

1. Split the tasks into weakly connected components: they run as one ``Parallel``.
2. A connected part is cut in ``Series`` wherever *every* task before the cut precedes every
   task after it (found in one sweep, see ``_series_cuts``). Steps 1-2 recognise
   series-parallel DAGs exactly, so those compile with ratio 1.0.
3. A part that is connected with no such cut is "prime": any structure must still run it as a
   series of stages, and some task waits. We cut it into two stages ``D`` (a downset) and the
   rest ``U``; the cut is chosen to minimise the lower bound ``longest path in D + longest path
   in U`` (exactly optimal over all downsets, by sweeping tasks in earliest-finish order), then
   both stages recurse through steps 1-3. Several optimal cuts (earliest-finish order, longest
   tail order; smallest and largest ``D``) are tried and the best resulting structure is kept,
   under a work budget so that a 10,000-task DAG stays well under a second.

The level-by-level structure (``level_barrier``) is also built and kept if it were better, so
the result is never worse than the naive baseline. Ties are broken by fewer Parallel states,
then by the order the candidates are tried: the output is deterministic.

>>> from orchestrator.compiler.sp import Leaf, Parallel, Series
>>> decompose(["a", "b", "c", "d"], {"b": ["a"], "c": ["a"], "d": ["b", "c"]})
Series(items=(Leaf(task='a'), Parallel(branches=(Leaf(task='b'), Leaf(task='c'))), Leaf(task='d')))
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.compiler import dag as dagmod
from orchestrator.compiler.sp import Leaf, Node, count_parallels, makespan, parallel, series

# How much prime-part work (tasks swept) the search may do, as a multiple of the task count,
# before it stops trying alternative cuts and keeps the first one. Counting work rather than
# reading a clock keeps the result deterministic.
_BUDGET_PER_TASK = 24
_MIN_BUDGET = 20_000
# Relative tolerance under which two makespans count as equal (then fewer Parallels wins).
_TIE = 1e-9


@dataclass(frozen=True, slots=True)
class _Result:
    node: Node
    span: float
    parallels: int


def _better(a: _Result, b: _Result) -> bool:
    """True when ``a`` is strictly better than ``b``: shorter, or as short with fewer Parallels."""
    tol = _TIE * max(1.0, abs(b.span))
    if a.span < b.span - tol:
        return True
    if a.span > b.span + tol:
        return False
    return a.parallels < b.parallels


class _Search:
    """State of one decomposition: the reduced DAG and scratch arrays indexed by task."""

    def __init__(self, graph: dagmod.Dag, budget: int) -> None:
        self.names = graph.names
        self.w = graph.weights
        self.preds, self.succs = dagmod.reduce_edges(graph)
        n = len(graph)
        self.member = [0] * n  # member[v] == gen  <=>  v is in the part being examined
        self.seen = [0] * n
        self.gen = 0
        self.eft = [0.0] * n
        self.tail = [0.0] * n
        self.budget = budget

    def _mark(self, part: Sequence[int]) -> int:
        self.gen += 1
        gen = self.gen
        member = self.member
        for v in part:
            member[v] = gen
        return gen

    # -- steps 1 and 2 -------------------------------------------------------------------

    def _components(self, part: list[int], gen: int) -> list[list[int]]:
        """Weakly connected components of ``part``, each ascending, ordered by first task."""
        self.gen += 1
        stamp = self.gen
        seen, member, preds, succs = self.seen, self.member, self.preds, self.succs
        comps: list[list[int]] = []
        for root in part:
            if seen[root] == stamp:
                continue
            seen[root] = stamp
            comp = [root]
            stack = [root]
            while stack:
                u = stack.pop()
                for x in preds[u]:
                    if member[x] == gen and seen[x] != stamp:
                        seen[x] = stamp
                        comp.append(x)
                        stack.append(x)
                for x in succs[u]:
                    if member[x] == gen and seen[x] != stamp:
                        seen[x] = stamp
                        comp.append(x)
                        stack.append(x)
            if len(comp) == len(part):
                return [part]
            comp.sort()
            comps.append(comp)
        return comps

    def _series_cuts(self, part: list[int], gen: int) -> list[int]:
        """Positions k such that every task of ``part[:k]`` precedes every task of ``part[k:]``.

        ``part`` is connected and in topological order, so every such split is a prefix. A
        split is exact iff the reduced edges crossing it are all the pairs (maximal task before,
        minimal task after): sweep the prefix P one task at a time keeping C (crossing edges),
        G (crossing edges from a maximal P task to a minimal Q task), |max P| and |min Q|. The
        split is exact iff C == G == |max P| * |min Q|. Each task changes status at most once,
        so the sweep is linear in the edges.
        """
        member, preds, succs = self.member, self.preds, self.succs
        m = len(part)
        local: dict[int, int] = {v: i for i, v in enumerate(part)}
        succ_in_p = [0] * m  # successors already moved to P
        pred_in_q: list[int] = []
        min_q = 0
        for v in part:
            k = 0
            for x in preds[v]:
                if member[x] == gen:
                    k += 1
            pred_in_q.append(k)
            if k == 0:
                min_q += 1
        max_p = 0
        crossing = 0
        good = 0
        cuts: list[int] = []
        for k in range(m - 1):
            v = part[k]
            for x in preds[v]:
                if member[x] != gen:
                    continue
                px = local[x]
                crossing -= 1
                if succ_in_p[px] == 0:
                    good -= 1
                    # x stops being maximal in P: its other crossing edges stop being good.
                    max_p -= 1
                    for y in succs[x]:
                        if member[y] == gen:
                            py = local[y]
                            if py > k and pred_in_q[py] == 0:
                                good -= 1
                succ_in_p[px] += 1
            min_q -= 1
            max_p += 1
            for y in succs[v]:
                if member[y] != gen:
                    continue
                py = local[y]
                crossing += 1
                pred_in_q[py] -= 1
                if pred_in_q[py] == 0:
                    min_q += 1
                    # y becomes minimal in Q: its in-edges from maximal P tasks become good.
                    for x in preds[y]:
                        if member[x] == gen and succ_in_p[local[x]] == 0:
                            good += 1
            if crossing == good == max_p * min_q:
                cuts.append(k + 1)
        return cuts

    # -- step 3 --------------------------------------------------------------------------

    def _prime_cuts(self, part: list[int], gen: int) -> list[list[int]]:
        """Candidate downsets D (as sorted task lists) for a prime part, best first.

        Every candidate minimises ``max eft over D + max tail over the rest`` (eft = earliest
        finish from the part's sources, tail = longest path from a task to the part's sinks,
        the task included); this is a lower bound of ``Series(D, rest)``, and for each
        threshold A the largest downset with all eft <= A is optimal, so sweeping tasks in
        eft order finds the optimum. Ties are broken several ways: they differ in where the
        tasks with slack go.
        """
        member, preds, succs, w = self.member, self.preds, self.succs, self.w
        eft, tail = self.eft, self.tail
        for v in part:
            start = 0.0
            for x in preds[v]:
                if member[x] == gen and eft[x] > start:
                    start = eft[x]
            eft[v] = start + w[v]
        for v in reversed(part):
            longest = 0.0
            for y in succs[v]:
                if member[y] == gen and tail[y] > longest:
                    longest = tail[y]
            tail[v] = longest + w[v]
        m = len(part)
        candidates: list[list[int]] = []
        # Both orders are linear extensions: eft never decreases along an edge and tail never
        # increases; the task index (topological) settles zero-weight ties.
        for order in (
            sorted(part, key=lambda v: (eft[v], v)),
            sorted(part, key=lambda v: (-tail[v], v)),
        ):
            suffix = [0.0] * (m + 1)
            for i in range(m - 1, -1, -1):
                t = tail[order[i]]
                suffix[i] = t if t > suffix[i + 1] else suffix[i + 1]
            costs = [0.0] * m
            prefix = 0.0
            for k in range(1, m):
                e = eft[order[k - 1]]
                if e > prefix:
                    prefix = e
                costs[k] = prefix + suffix[k]
            best = min(costs[1:])
            tol = _TIE * max(1.0, best)
            ties = [k for k in range(1, m) if costs[k] <= best + tol]
            # The most balanced optimal cut keeps the recursion shallow; the extremes put the
            # tasks with slack all before or all after the cut.
            balanced = min(ties, key=lambda k: (abs(2 * k - m), k))
            for k in self.tie_order(ties, balanced):
                cut = sorted(order[:k])
                if cut not in candidates:
                    candidates.append(cut)
        return candidates

    def tie_order(self, ties: list[int], balanced: int) -> list[int]:
        return [balanced, ties[0], ties[-1]]

    def solve(self, part: list[int]) -> _Result:
        """Best structure found for ``part`` (a convex set of tasks, ascending)."""
        if len(part) == 1:
            v = part[0]
            return _Result(Leaf(self.names[v]), self.w[v], 0)
        gen = self._mark(part)
        comps = self._components(part, gen)
        if len(comps) > 1:
            results = [self.solve(c) for c in comps]
            return _Result(
                parallel([r.node for r in results]),
                max(r.span for r in results),
                1 + sum(r.parallels for r in results),
            )
        cuts = self._series_cuts(part, gen)
        if cuts:
            bounds = [0, *cuts, len(part)]
            results = [self.solve(part[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
            return _Result(
                series([r.node for r in results]),
                sum(r.span for r in results),
                sum(r.parallels for r in results),
            )
        candidates = self._prime_cuts(part, gen)
        best: _Result | None = None
        for i, down in enumerate(candidates):
            if i > 0 and self.budget <= 0:
                break
            self.budget -= len(part)
            inside = set(down)
            up = [v for v in part if v not in inside]
            first, second = self.solve(down), self.solve(up)
            result = _Result(
                series([first.node, second.node]),
                first.span + second.span,
                first.parallels + second.parallels,
            )
            if best is None or _better(result, best):
                best = result
        assert best is not None  # a prime part has at least 4 tasks, so at least one cut
        return best


def _levels(graph: dagmod.Dag) -> list[list[int]]:
    level = [0] * len(graph)
    for v in range(len(graph)):
        for u in graph.preds[v]:
            if level[u] + 1 > level[v]:
                level[v] = level[u] + 1
    rows: list[list[int]] = [[] for _ in range(max(level, default=-1) + 1)]
    for v in range(len(graph)):
        rows[level[v]].append(v)
    return rows


def _level_node(graph: dagmod.Dag) -> Node:
    stages = [parallel([Leaf(graph.names[v]) for v in row]) for row in _levels(graph)]
    return series(stages)


def level_barrier(
    tasks: Sequence[str],
    after: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
) -> Node:
    """The naive baseline: one Parallel per topological level (longest chain of dependencies
    from a source), levels in series. Every task waits for the whole previous level.

    >>> level_barrier(["a", "b", "c"], {"c": ["a"]})
    Series(items=(Parallel(branches=(Leaf(task='a'), Leaf(task='b'))), Leaf(task='c')))
    """
    graph = dagmod.build(tasks, after, weights)
    if not len(graph):
        raise ValueError("cannot build a structure for an empty workflow")
    return _level_node(graph)


def decompose(
    tasks: Sequence[str],
    after: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
) -> Node:
    """A series-parallel structure running every task once, after all its dependencies.

    ``after[t]`` lists t's dependencies; ``weights`` are expected durations (1.0 when missing).
    SP DAGs come out exact (makespan == critical path); others add as little waiting as the
    search finds, and never more than ``level_barrier``. Deterministic.

    >>> decompose(["a", "b", "c", "d"], {"c": ["a", "b"], "d": ["b"]})
    Series(items=(Parallel(branches=(Leaf(task='a'), Leaf(task='b'))), Parallel(branches=(Leaf(task='c'), Leaf(task='d')))))
    """
    graph = dagmod.build(tasks, after, weights)
    n = len(graph)
    if not n:
        raise ValueError("cannot build a structure for an empty workflow")
    # Nesting can be as deep as the DAG is long; Python 3.11 frames are cheap (no C stack per
    # Python call), so lift the default limit of 1000 for the duration of the search only.
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, 4 * n + 1000))
    try:
        search = _Search(graph, max(_MIN_BUDGET, _BUDGET_PER_TASK * n))
        found = search.solve(list(range(n)))
    finally:
        sys.setrecursionlimit(old_limit)
    baseline_node = _level_node(graph)
    wmap = dict(zip(graph.names, graph.weights, strict=True))
    baseline = _Result(baseline_node, makespan(baseline_node, wmap), count_parallels(baseline_node))
    return baseline.node if _better(baseline, found) else found.node


def ratio(
    tasks: Sequence[str],
    after: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
    node: Node | None = None,
) -> float:
    """Makespan of ``node`` (default: ``decompose``'s result) over the critical path; 1.0 is
    perfect. A DAG whose critical path is 0 (all weights zero) has ratio 1.0.

    >>> ratio(["a", "b", "c", "d"], {"c": ["a", "b"], "d": ["b"]}, {"a": 1, "b": 1, "c": 1, "d": 5})
    1.0
    """
    if node is None:
        node = decompose(tasks, after, weights)
    cp = dagmod.critical_path(tasks, after, weights)
    wmap = {t: float((weights or {}).get(t, 1.0)) for t in tasks}
    span = makespan(node, wmap)
    return 1.0 if cp == 0 else span / cp


def critical_path(
    tasks: Sequence[str],
    after: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
) -> float:
    """Longest weighted path (see ``dag.critical_path``); re-exported for callers of this module."""
    return dagmod.critical_path(tasks, after, weights)
