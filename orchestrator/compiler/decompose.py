"""Turn any DAG into a series-parallel structure, adding as little waiting as possible.

Step Functions can only chain states and run ``Parallel`` states, and a Parallel waits for all
of its branches. A DAG that is not series-parallel (the smallest is the "N": a->c, b->c, b->d)
cannot be run as drawn: some task has to wait for something it does not depend on. The measure
is the simulated makespan of the structure divided by the critical path, with each task's
expected duration as its weight (``ratio``).

How ``decompose`` works, on the transitive reduction (redundant edges only hide structure):

0. Bottom-up, series-parallel modules are contracted (``modules.Contraction``: the
   Valdes-Tarjan-Lawler reductions, near-linear whatever the nesting depth). A series-parallel
   DAG contracts to one module: its exact structure, ratio 1.0. Otherwise the search below runs
   on the whole DAG and, when contraction left at most half of the tasks, also on the
   contracted DAG with each module as one task; the better result is kept.

The search, top-down on a set of tasks:

1. Split them into weakly connected components: they run as one ``Parallel``.
2. A connected part is cut in ``Series`` wherever *every* task before the cut precedes every
   task after it (found in one linear sweep, see ``stages.series_cuts``).
3. A part that is connected with no such cut is "prime": any structure must run it as a series
   of stages, and some task waits. Candidate splits into stages, each stage recursing through
   steps 1-3:

   - *spine stages* (``stages.spine_stages``): one time window per task of the part's critical path
     (or per 2 or 3 of them); every other task goes, in dependency order, into the window in
     which its dependencies finish, and is moved to the next window when it would overrun its
     own and its slack (latest start) allows, or when that costs less than stretching the
     window. Tasks with slack thus run beside the critical path without lengthening it.
   - *lower-bound cuts* (``stages.prime_cuts``): two stages, a downset D and the rest, minimising
     ``longest path in D + longest path in the rest`` (exact over all downsets, by a sweep in
     earliest-finish order); ties broken several ways.

   If the part's plain level-by-level structure is already as short as its critical path, or
   fits in the time window the part runs in beside a longer sibling, that is used directly.

The search scores every candidate split greedily (each stage split once more at its balanced
lower-bound cut when that leaves each side at least 1/8 of the tasks, else into spine stages),
keeps the best, improves it by local search over its stage boundaries (``_move_tasks``: the
tasks that end a stage's longest paths move to the next stage, or those that start the next
one move back, and adjacent stages merge, whenever the greedy score of the two stages drops),
then spends a work budget refining the winner's stages the same way. A part too big for its
share of the budget to score alternatives is bisected at its balanced lower-bound cut instead,
so a 10,000-task DAG spends its budget searching parts of a size it can afford. It also
runs on the reversed DAG (which places tasks with slack late instead of early; on a big DAG in a
forked child on a second core, at the same time as the forward search), and the
level-by-level baseline (``level_barrier``) is a candidate too, so the result is never worse
than it. Ties go to fewer Parallel states, then to the candidate tried first; the budget counts
work, not time, so the output is deterministic.

Top-down recognition costs O(tasks x nesting depth). Past a work limit the search gives up;
if both searches do, side trees hanging off the rest by one edge are folded away
(``modules.Hanging``) and the rest searched, and failing that the level-by-level structure is
used.

>>> from orchestrator.compiler.sp import Leaf, Parallel, Series
>>> decompose(["a", "b", "c", "d"], {"b": ["a"], "c": ["a"], "d": ["b", "c"]})
Series(items=(Leaf(task='a'), Parallel(branches=(Leaf(task='b'), Leaf(task='c'))), Leaf(task='d')))
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestrator.compiler import dag as dagmod
from orchestrator.compiler import frames, modules
from orchestrator.compiler.dag import critical_path as critical_path  # re-exported
from orchestrator.compiler.sp import (
    Leaf,
    Node,
    Parallel,
    Series,
    count_parallels,
    makespan,
    mirror,
    parallel,
    series,
)
from orchestrator.compiler.stages import (
    TIE,
    Edges,
    balanced,
    level_rows,
    prime_cuts,
    series_cuts,
    spine_splits,
    spine_stages,
    tails,
)

# How much search work a decomposition may spend trying alternative splits of
# non-series-parallel parts before it settles for the greedy choice, counted as tasks plus edges
# visited by the recursion. Counting work rather than reading a clock keeps the result
# deterministic; this much keeps a 10,000-task workflow around a second of CPU on a 2-core machine
# and lets small DAGs be searched deeply. (Was 1,500,000 before the passes got about a third
# cheaper per unit: local edge lists per part, no repeated longest-path sweeps, plain sorts.)
_BUDGET = 2_500_000
# Lower-bound cuts scored per prime part: the earliest-finish sweep's balanced, smallest and
# largest optimal cuts (the longest-tail sweep's follow; more rarely helped, and cost time).
_CUTS_TRIED = 3
# Spine stages are tried with one window per 1, 2 or 3 critical-path tasks.
_GROUPS = (1, 2, 3)
# Work (tasks plus edges visited) allowed per task-or-edge of the DAG before the search is
# abandoned as too deeply nested; then hanging side trees are folded away first (see _Hanging).
_WORK_LIMIT_PER_UNIT = 40
# Search the contracted DAG too (modules kept whole) when it has at most this share of the tasks.
_MODULES_SHARE = 0.5
# Passes of the stage-boundary local search (``_move_tasks``) over the winning split.
_MOVE_PASSES = 3
# A prime part whose own cost (tasks plus edges) times this exceeds its remaining budget is too
# big to score candidate splits greedily: it is bisected at its balanced lower-bound cut and
# each half searched with its share of the budget.
_SCORE_FACTOR = 100
# A search of at least this many tasks runs its reversed half in a forked child on a second core
# (``_search``); below it, the fork (a few ms) would cost more than it saves.
_FORK_MIN_TASKS = 1_000
# What ``solve`` may assume of a part (skipping the pass that would find it out).
_CONNECTED = 1  # a weakly connected component
_NO_CUTS = 2  # a piece between series cuts: it has none itself




class _TooDeep(Exception):
    """The search met a part nested so deep that finishing would cost quadratic time."""


# The kind of a result's node, and how a result builds it (``_Search._build``).
_LEAF, _SERIES, _PARALLEL = 0, 1, 2
_BUILT, _CHAIN, _ROWS, _IN_SERIES, _SIDE_BY_SIDE = 0, 1, 2, 3, 4


class _Result:
    """A structure found for a part: its makespan, its Parallel count, the kind of its node and
    how many items or branches that node has (``width``; 1 for a Leaf), and how to build the
    node (``how``, from ``parts``). Most results are scored and dropped, so a node is only
    built for the structure finally chosen (``_Search._build``)."""

    __slots__ = ("span", "parallels", "kind", "width", "how", "parts", "node")

    def __init__(
        self,
        span: float,
        parallels: int,
        kind: int,
        width: int,
        how: int,
        parts: Sequence[Any],
        node: Node | None = None,
    ) -> None:
        self.span = span
        self.parallels = parallels
        self.kind = kind
        self.width = width
        self.how = how
        self.parts = parts
        self.node = node


def _built(node: Node, span: float, parallels: int) -> _Result:
    """A result whose node is already built."""
    return _Result(span, parallels, _LEAF, 1, _BUILT, (), node)


def _node_of(found: _Result) -> Node:
    """The node of a result that has been built (``_Search.run`` builds the one it returns)."""
    assert found.node is not None
    return found.node


def _series_of(results: list[_Result]) -> _Result:
    """``results`` one after the other (as ``sp.series`` builds it: nested Series flattened)."""
    width = 0
    for r in results:
        width += r.width if r.kind == _SERIES else 1
    if width == 1:
        kind, width = results[0].kind, results[0].width
    else:
        kind = _SERIES
    return _Result(
        sum([r.span for r in results]), sum([r.parallels for r in results]), kind, width, _IN_SERIES, results
    )


def _parallel_of(results: list[_Result]) -> _Result:
    """``results`` as one Parallel (as ``sp.parallel`` builds it: nested Parallels flattened,
    so they no longer count)."""
    width = 0
    nested = 0
    for r in results:
        if r.kind == _PARALLEL:
            width += r.width
            nested += 1
        else:
            width += 1
    parallels = 1 + sum([r.parallels for r in results]) - nested
    if width == 1:
        kind, width = results[0].kind, results[0].width
    else:
        kind = _PARALLEL
    return _Result(max([r.span for r in results]), parallels, kind, width, _SIDE_BY_SIDE, results)


def _better(a: _Result, b: _Result) -> bool:
    """True when ``a`` is strictly better than ``b``: shorter, or as short with fewer Parallels."""
    tol = TIE * max(1.0, abs(b.span))
    if a.span < b.span - tol:
        return True
    if a.span > b.span + tol:
        return False
    return a.parallels < b.parallels


class _Search:
    """State of one decomposition: the reduced DAG and scratch arrays indexed by task."""

    def __init__(
        self,
        names: Sequence[str],
        weights: Sequence[float],
        reduced: tuple[list[list[int]], list[list[int]]],
        budget: int,
    ) -> None:
        """``names`` and ``weights`` by task (in topological order), ``reduced`` the
        transitive reduction's ``(preds, succs)``."""
        self.groups: tuple[int, ...] = _GROUPS
        self.greedy = False
        # Every pass is linear in the part, but parts nest: a DAG nested n/2 deep (a chain with a
        # side task at each step) would cost n^2/4. Past this much work the search gives up.
        self.spent = 0
        self.limit = budget  # raised below, once the reduced edges are known
        self.cache: dict[tuple[tuple[int, ...], float], _Result] = {}
        self.names = names
        self.w = weights
        self.preds, self.succs = reduced
        n = len(names)
        self.cost = [1 + len(self.preds[v]) + len(self.succs[v]) for v in range(n)]
        self.limit += _WORK_LIMIT_PER_UNIT * sum(self.cost)
        self.member = [0] * n  # member[v] == gen  <=>  v is in the part being examined
        # One Leaf and one single-task result per task, made when first needed and shared by
        # every candidate (they are immutable).
        self.leaves: list[Leaf | None] = [None] * n
        self.singles: list[_Result | None] = [None] * n
        self.gen = 0
        self.eft = [0.0] * n
        self.tail = [0.0] * n
        self.hit = [0] * n  # hit[v] == gen: v has a neighbour in the part (``_stage_ends``)
        self.pos = [0] * n  # a task's index in the part being examined
        self.label = [0] * n  # a task's component in the part being split (``_components``)
        # inner[v]: v's dependencies inside the part ``_components`` last split, which are
        # inside v's component too. A component is solved (``known`` = _CONNECTED) before any
        # other part containing its tasks is split, so its rows are still its own then.
        self.inner: list[Sequence[int]] = [()] * n
        self.budget = budget

    def run(self) -> _Result:
        """The best structure found for the whole DAG, its node built."""
        found = self.solve(list(range(len(self.w))))
        self._build(found)
        return found

    def _leaf(self, v: int) -> Leaf:
        leaf = self.leaves[v]
        if leaf is None:
            leaf = self.leaves[v] = Leaf(self.names[v])
        return leaf

    def _single(self, v: int) -> _Result:
        found = self.singles[v]
        if found is None:
            found = self.singles[v] = _Result(self.w[v], 0, _LEAF, 1, _BUILT, (), self._leaf(v))
        return found

    def _mark(self, part: Sequence[int]) -> int:
        self.gen += 1
        gen = self.gen
        member = self.member
        for v in part:
            member[v] = gen
        return gen

    # -- steps 1 and 2 -------------------------------------------------------------------

    def _components(self, part: list[int]) -> list[list[int]]:
        """Weakly connected components of ``part``, each ascending, ordered by first task;
        ``[part]`` itself when it is connected. Fills ``inner`` for the part's tasks.

        One pass in topological order over each task's dependencies (each edge once, where a
        search from every task would look at it from both ends): a task joins the component of
        its dependencies, and components it joins together merge, the smaller into the larger.
        The same pass marks the part's tasks (a new generation of ``member``): a task's
        dependencies come before it, so those in the part are marked by the time it is reached.
        """
        self.gen += 1
        gen = self.gen
        member, preds, label, inner = self.member, self.preds, self.label, self.inner
        groups: list[list[int]] = []  # label[v]: v's component, an index here; [] once merged
        for v in part:
            member[v] = gen
            g = -1
            row: list[int] = []
            for x in preds[v]:
                if member[x] == gen:
                    row.append(x)
                    h = label[x]
                    if g < 0:
                        g = h
                    elif h != g:
                        into, other = groups[g], groups[h]
                        if len(into) < len(other):
                            g, h, into, other = h, g, other, into
                        for y in other:
                            label[y] = g
                        into += other
                        groups[h] = []
            inner[v] = row
            if g < 0:
                label[v] = len(groups)
                groups.append([v])
            else:
                label[v] = g
                groups[g].append(v)
        if len(groups) == 1:
            return [part]
        comps = [comp for comp in groups if comp]
        if len(comps) == 1:
            return [part]
        for comp in comps:
            comp.sort()  # a merged component is ascending runs, one after the other
        comps.sort()
        return comps

    # -- step 3 --------------------------------------------------------------------------

    def _quick(self, part: list[int], ins: Edges) -> tuple[_Result, float, list[float]]:
        """The part's own level-by-level structure, its critical path and eft by position in
        the part, in one pass."""
        span, parallels, cp, eft, rows = level_rows(part, ins, self.w)
        if len(rows) > 1:
            kind, width = _SERIES, len(rows)
        else:
            kind, width = (_PARALLEL, len(rows[0])) if len(rows[0]) > 1 else (_LEAF, 1)
        return _Result(span, parallels, kind, width, _ROWS, rows), cp, eft

    def _build(self, found: _Result) -> Node:
        """The node of ``found``, built (once) from its parts."""
        node = found.node
        if node is not None:
            return node
        how, parts, leaf = found.how, found.parts, self._leaf
        if how == _CHAIN:
            node = Series(tuple([leaf(v) for v in parts]))
        elif how == _ROWS:
            node = series([parallel([leaf(v) for v in row]) for row in parts])
        elif how == _IN_SERIES:
            node = series([self._build(r) for r in parts])
        else:
            node = parallel([self._build(r) for r in parts])
        found.node = node
        return node

    def _solve_shared(self, parts: list[list[int]], allows: list[float], known: int = 0) -> list[_Result]:
        """Solve independent parts, each with a share of the remaining budget by its size, so
        the first parts cannot use up the search for the others."""
        remaining = sum(map(len, parts))
        pool = self.budget
        results: list[_Result] = []
        singles = self.singles
        for piece, allow in zip(parts, allows, strict=True):
            if len(piece) == 1:
                # A single task costs nothing: its share of the budget would come straight back.
                found = singles[piece[0]]
                results.append(self._single(piece[0]) if found is None else found)
                remaining -= 1
                continue
            give = pool * len(piece) // remaining if pool > 0 else pool
            self.budget = give
            results.append(self.solve(piece, allow, known))
            pool -= give - self.budget
            remaining -= len(piece)
        self.budget = pool
        return results

    def solve(self, part: list[int], allow: float = 0.0, known: int = 0) -> _Result:
        """Best structure found for ``part``; greedy answers are cached, since the search
        scores the same stages greedily before refining them."""
        if len(part) == 1:
            v = part[0]
            return self._single(v)
        if not (self.greedy or self.budget <= 0):
            return self._solve(part, allow, known)
        key = (tuple(part), allow)
        found = self.cache.get(key)
        if found is None:
            found = self._solve(part, allow, known)
            self.cache[key] = found
        return found

    def _local_edges(self, part: list[int]) -> tuple[Edges, Edges]:
        """The edges inside ``part``, by position in it: ``(ins, outs)``. ``part`` is a
        component of the part ``_components`` last split, or that part itself."""
        inner = self.inner
        local = self.pos
        for i, v in enumerate(part):
            local[v] = i
        ins: Edges = []
        outs: Edges = [[] for _ in part]
        for i, v in enumerate(part):
            row = []
            for x in inner[v]:
                j = local[x]
                row.append(j)
                outs[j].append(i)
            ins.append(row)
        return ins, outs

    def _side_by_side(self, comps: list[list[int]], allow: float) -> _Result:
        """The components of a part, each solved, as one Parallel."""
        return _parallel_of(self._solve_shared(comps, [allow] * len(comps), _CONNECTED))

    def _is_path(self, part: list[int]) -> bool:
        """True when each task of ``part`` but the first has exactly one dependency in it, the
        one before: then the part is a path, since ``part`` is in topological order. ``part``
        is a component of the part ``_components`` last split, or that part itself."""
        inner = self.inner
        before = part[0]
        for v in part[1:]:
            row = inner[v]
            if len(row) != 1 or row[0] != before:
                return False
            before = v
        return True

    def _solve(self, part: list[int], allow: float = 0.0, known: int = 0) -> _Result:
        """Best structure found for ``part`` (a convex set of tasks, ascending).

        ``allow`` is how long the part may take without delaying anything (the length of the
        window it runs in beside a longer sibling); a prime part whose plain level-by-level
        structure fits in it needs no search. This keeps deep nests of slack cheap.
        """
        if len(part) == 1:
            v = part[0]
            return self._single(v)
        # Charge what the passes below cost: every task and every edge they look at.
        spent = sum(map(self.cost.__getitem__, part))
        self.budget -= spent
        self.spent += spent
        if self.spent > self.limit:
            raise _TooDeep
        # A component is connected, and its dependencies inside it are known (``inner``); a
        # piece between series cuts has no series cut of its own (``known``): those passes
        # are skipped (the work charged is the same).
        if known != _CONNECTED:
            comps = self._components(part)
            if len(comps) > 1:
                return self._side_by_side(comps, allow)
        if self._is_path(part):  # the most common part by far; skip the general passes
            return _Result(sum([self.w[v] for v in part]), 0, _SERIES, len(part), _CHAIN, part)
        # The part's edges once, by position in the part: the passes below then need no
        # membership tests.
        ins, outs = self._local_edges(part)
        cuts = [] if known == _NO_CUTS else series_cuts(part, ins, outs)
        if cuts:
            bounds = [0, *cuts, len(part)]
            pieces = [part[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
            return _series_of(self._solve_shared(pieces, [0.0] * len(pieces), _NO_CUTS))
        quick, cp, eft = self._quick(part, ins)
        if quick.span <= max(allow, cp) * (1 + TIE):
            return quick
        tail = tails(part, outs, self.w)
        if self.budget <= 0 or self.greedy:
            # Greedy: the balanced lower-bound cut when it is balanced enough (a lopsided one
            # would nest as deep as the part is long), else spine stages; each stage solved the
            # same way.
            down, rest = prime_cuts(part, eft, tail, first=True)[0]
            if balanced(part, down):
                stages, windows = [down, rest], [0.0, 0.0]
            else:
                stages, windows = spine_stages(part, ins, outs, tail, self.w, 1)
            found = self._stages(stages, windows)
            return found if _better(found, quick) else quick
        if spent * _SCORE_FACTOR > self.budget:
            # Too big to score candidates within the budget: bisect at the balanced lower-bound
            # cut (if balanced enough) and let each half search with its share of the budget.
            down, rest = prime_cuts(part, eft, tail, first=True)[0]
            if balanced(part, down):
                found = _series_of(self._solve_shared([down, rest], [0.0, 0.0]))
                return found if _better(found, quick) else quick
        # Search: score every candidate split greedily, keep the best, then spend the budget
        # refining the stages of the winner (a refined stage is never worse than its greedy
        # score, so the result only improves on the greedy one).
        splits: list[tuple[list[list[int]], list[float]]] = []
        for stages, windows in spine_splits(part, ins, outs, tail, self.w, self.groups):
            if len(stages) >= 2 and stages not in [s for s, _ in splits]:
                splits.append((stages, windows))
        for down, rest in prime_cuts(part, eft, tail)[:_CUTS_TRIED]:
            split = [down, rest]
            if split not in [s for s, _ in splits]:
                splits.append((split, [0.0, 0.0]))
        best = quick
        best_split: tuple[list[list[int]], list[float]] | None = None
        for i, (stages, windows) in enumerate(splits):
            if i > 0 and self.budget <= 0:
                break
            self.greedy = True
            found = self._stages(stages, windows)
            self.greedy = False
            if best_split is None or _better(found, best):
                best, best_split = found, (stages, windows)
        if best_split is not None and self.budget > 0:
            stages, windows = best_split
            if _MOVE_PASSES and len(stages) >= 2:
                self.greedy = True
                moved = self._move_tasks(stages, windows)
                self.greedy = False
                if moved is not None:
                    stages, windows, found = moved
                    if _better(found, best):
                        best = found
            refined = _series_of(self._solve_shared(stages, windows))
            if _better(refined, best):
                best = refined
        return best if _better(best, quick) else quick

    def _stage_ends(self, stage: list[int], sinks: bool) -> list[int]:
        """The tasks of ``stage`` that end (``sinks``) or start one of its longest paths and
        have no successor (predecessor) inside it: they may move to the next (previous) stage."""
        gen = self._mark(stage)
        member, w, hit = self.member, self.w, self.hit
        # Only the times the ends are ranked by (eft or tail inside the stage); the same walk
        # marks the tasks that have a successor (predecessor) inside it.
        # Forwards: eft along predecessors; backwards: the longest tail along successors.
        near, value, order = (
            (self.preds, self.eft, stage) if sinks else (self.succs, self.tail, stage[::-1])
        )
        for v in order:
            longest = 0.0
            for x in near[v]:
                if member[x] == gen:
                    hit[x] = gen
                    if value[x] > longest:
                        longest = value[x]
            value[v] = longest + w[v]
        ends = [v for v in stage if hit[v] != gen]
        top = max([value[v] for v in ends])
        tol = TIE * max(1.0, top)
        return [v for v in ends if value[v] >= top - tol]

    def _move_tasks(
        self, stages: list[list[int]], windows: list[float]
    ) -> tuple[list[list[int]], list[float], _Result] | None:
        """Local search over the stage boundaries of a split, scored greedily: the tasks that end
        a stage's longest paths move to the next stage, or those that start the next stage's move
        back, whenever that shortens the two stages together. Counted work, so deterministic;
        ``None`` when nothing improved."""
        stages = [list(st) for st in stages]
        windows = list(windows)
        results = [self.solve(st, wd) for st, wd in zip(stages, windows, strict=True)]
        improved = False
        for _ in range(_MOVE_PASSES):
            changed = False
            i = 0
            while i < len(stages) - 1 and self.budget > 0:
                a, b = stages[i], stages[i + 1]
                old = results[i].span + results[i + 1].span
                tol = TIE * max(1.0, old)
                done = False
                for forward in (True, False):
                    src, dst = (a, b) if forward else (b, a)
                    moving = self._stage_ends(src, sinks=forward)
                    if len(moving) >= len(src):
                        continue
                    gone = set(moving)
                    new_src = [v for v in src if v not in gone]
                    new_dst = sorted(dst + moving)
                    new_a, new_b = (new_src, new_dst) if forward else (new_dst, new_src)
                    ra = self.solve(new_a, windows[i])
                    rb = self.solve(new_b, windows[i + 1])
                    if ra.span + rb.span < old - tol:
                        stages[i], stages[i + 1] = new_a, new_b
                        results[i], results[i + 1] = ra, rb
                        changed = improved = done = True
                        break
                if not done and len(stages) > 2:  # two stages merged would be the whole part
                    merged = sorted(a + b)
                    rm = self.solve(merged, 0.0)
                    if rm.span < old - tol:
                        stages[i : i + 2] = [merged]
                        results[i : i + 2] = [rm]
                        windows[i : i + 2] = [0.0]
                        changed = improved = done = True
                if not done:
                    i += 1
            if not changed or self.budget <= 0:
                break
        if not improved:
            return None
        return stages, windows, _series_of(results)

    def _stages(self, stages: list[list[int]], windows: list[float]) -> _Result:
        return _series_of([self.solve(st, wd) for st, wd in zip(stages, windows, strict=True)])


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
    # Nesting can be as deep as the DAG is long; the search's hundreds of thousands of lists and
    # nodes stay alive until it ends (compile_workflow pauses the collector already; alone, this does).
    with frames.recursion_limit(4 * n + 1000), frames.paused_gc():
        preds, succs = dagmod.reduce_edges(graph)
        # Bottom-up first: series-parallel modules contract in near-linear time, and a
        # series-parallel DAG contracts to one module, its exact structure.
        contraction = modules.Contraction(graph, preds, succs)
        if len(contraction) == 1:
            (node,) = contraction.modules().values()
            return node
        wmap = dict(zip(graph.names, graph.weights, strict=True))
        nodes: list[Node] = []

        def modules_searched(budget: int) -> Node:
            return _modules_searched(graph, (preds, succs), contraction.modules(), contraction.rest(), budget)

        def whole_searched(budget: int) -> Node:
            return _whole_searched(graph, (preds, succs), budget)

        # Two searches share the budget: the prime rest with every module kept whole (smaller,
        # so searched deeper), and the whole DAG (free to split a module across stages).
        # Only when contraction shrank the DAG well is the first worth its time; otherwise the
        # two would mostly repeat each other and the whole-DAG search gets the full budget.
        plan: list[tuple[Callable[[int], Node], int]] = [(whole_searched, _BUDGET)]
        if len(contraction) <= _MODULES_SHARE * n:
            plan = [(modules_searched, _BUDGET // 2), (whole_searched, _BUDGET // 2)]
        for attempt, budget in plan:
            try:
                nodes.append(attempt(budget))
            except _TooDeep:
                continue
        if not nodes:
            # Too deep to finish. Contraction removed the series-parallel nesting, so the
            # contracted DAG may be shallow enough; else fold the side trees away and search
            # the rest; if even that nests too deep, the level-by-level structure it is.
            fallbacks: list[Callable[[], Node]] = [
                lambda: modules_searched(_BUDGET),
                lambda: _folded(graph, preds, succs),
            ]
            for fallback in fallbacks if len(plan) == 1 else fallbacks[1:]:
                try:
                    nodes.append(fallback())
                    break
                except _TooDeep:
                    continue
            else:
                nodes.append(_level_node(graph))
        best = _built(nodes[0], makespan(nodes[0], wmap), count_parallels(nodes[0]))
        for node in nodes[1:]:
            other = _built(node, makespan(node, wmap), count_parallels(node))
            if _better(other, best):
                best = other
    cp = max(dagmod.earliest_finish(graph))
    if best.span > cp * (1 + TIE):
        # The level-by-level structure's makespan and Parallel count as ``makespan`` and
        # ``count_parallels`` would give them; its node is built only if it wins.
        rows = _levels(graph)
        w = graph.weights
        values = [max([w[v] for v in row]) if len(row) > 1 else w[row[0]] for row in rows]
        span = float(sum(values)) if len(values) > 1 else values[0]
        baseline = _Result(span, sum(len(row) > 1 for row in rows), _LEAF, 1, _BUILT, ())
        if _better(baseline, best):
            best = _built(_level_node(graph), baseline.span, baseline.parallels)
    return _node_of(best)


_Reduced = tuple[list[list[int]], list[list[int]]]


def _modules_searched(
    graph: dagmod.Dag, reduced: _Reduced, found: dict[str, Node], rest: dagmod.Dag, budget: int = _BUDGET
) -> Node:
    """The prime rest searched with each module as one task, then the modules expanded."""
    return modules.substitute(_node_of(_search(rest, dagmod.reduce_edges(rest), budget)), found)


def _whole_searched(graph: dagmod.Dag, reduced: _Reduced, budget: int = _BUDGET) -> Node:
    """The whole DAG searched: modules may be split across stages."""
    return _node_of(_search(graph, reduced, budget))


def _folded(graph: dagmod.Dag, preds: list[list[int]], succs: list[list[int]]) -> Node:
    """Search only the core; put the hanging side trees back afterwards."""
    hanging = modules.Hanging(graph, preds, succs)
    core_graph, core_reduced = modules.subgraph(graph, preds, succs, hanging.core)
    return hanging.attach(_node_of(_search(core_graph, core_reduced)))


def _search(graph: dagmod.Dag, reduced: _Reduced, budget: int = _BUDGET) -> _Result:
    """The search forwards and, unless that is already exact, on the reversed DAG.

    The two searches are independent (each has half the budget), so on a big DAG the reversed
    one runs in a forked child on a second core while this process searches forwards
    (``frames.Beside``; about half the wall time). Its answer is the same either way: it is only
    read when the forward search is not exact, a child's failure is redone here, and a reversed
    search that gives up (``_TooDeep``) gives up here at the same point.
    """
    n = len(graph)
    budget //= 2  # half for the forward search, half for the reversed one

    def backward() -> _Result:
        # The same search on the reversed DAG places tasks with slack as late as possible
        # instead of as early as possible; reversing its answer gives a valid structure too.
        # The reduction of the reversed DAG is the reversed reduction.
        preds, succs = reduced
        mirrored = (
            [[n - 1 - y for y in reversed(succs[n - 1 - i])] for i in range(n)],
            [[n - 1 - x for x in reversed(preds[n - 1 - i])] for i in range(n)],
        )
        found = _Search(graph.names[::-1], graph.weights[::-1], mirrored, budget).run()
        return _built(mirror(_node_of(found)), found.span, found.parallels)

    beside = frames.Beside.start(lambda: _packed(backward, graph.names)) if n >= _FORK_MIN_TASKS else None
    try:
        best = _Search(graph.names, graph.weights, reduced, budget).run()
        cp = max(dagmod.earliest_finish(graph))
        if best.span > cp * (1 + TIE):
            other = None if beside is None else _unpacked(beside.result(), graph.names)
            if other is None:
                other = backward()
            if _better(other, best):
                best = other
    finally:
        if beside is not None:
            beside.close()
    return best


def _packed(search: Callable[[], _Result], names: Sequence[str]) -> bytes:
    """``search()``'s structure, makespan and Parallel count as bytes (``marshal``): the tree in
    post-order, a task as its index in ``names``, a Series or Parallel of k children as
    ``-1, k`` or ``-2, k`` after them. A search that gives up is ``None``."""
    try:
        found = search()
    except _TooDeep:
        return marshal.dumps(None)
    index = {name: i for i, name in enumerate(names)}
    tokens: list[int] = []
    stack: list[tuple[Node, bool]] = [(_node_of(found), False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, Leaf):
            tokens.append(index[node.task])
            continue
        children = node.items if isinstance(node, Series) else node.branches
        if done:
            tokens += (-1 if isinstance(node, Series) else -2, len(children))
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    return marshal.dumps((tokens, found.span, found.parallels))


def _unpacked(data: bytes | None, names: Sequence[str]) -> _Result | None:
    """The result ``_packed`` wrote (raises ``_TooDeep`` for a search that gave up); None when
    there is nothing to read (the child failed)."""
    if data is None:
        return None
    packed = marshal.loads(data)
    if packed is None:
        raise _TooDeep
    tokens, span, parallels = packed
    nodes: list[Node] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token >= 0:
            nodes.append(Leaf(names[token]))
            i += 1
            continue
        count = tokens[i + 1]
        children = tuple(nodes[len(nodes) - count:])
        del nodes[len(nodes) - count:]
        nodes.append(Series(children) if token == -1 else Parallel(children))
        i += 2
    (node,) = nodes
    return _built(node, span, parallels)


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
    cp = critical_path(tasks, after, weights)
    wmap = {t: float((weights or {}).get(t, 1.0)) for t in tasks}
    span = makespan(node, wmap)
    return 1.0 if cp == 0 else span / cp
