"""The pure stage functions of the decomposition search (``decompose``): given a part of the DAG
(its tasks in topological order and its edges by position in it), where it can be cut and how it
splits into stages. They read nothing but their arguments; the search (``decompose._Search``)
decides which to try and keeps the scratch state.

    >>> # a -> b -> c: every prefix precedes the rest, so both boundaries are series cuts
    >>> series_cuts([0, 1, 2], ins=[[], [0], [1]], outs=[[1], [2], []])
    [1, 2]
    >>> tails([0, 1, 2], outs=[[1], [2], []], w=[1.0, 2.0, 3.0])
    [6.0, 5.0, 3.0]
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate
from operator import sub

# Edges of a part by position in it (``ins[i]``: positions of task i's dependencies, ascending).
Edges = list[list[int]]
# Relative tolerance under which two makespans count as equal (then fewer Parallels wins).
TIE = 1e-9
# A two-stage cut is used without scoring alternatives only when each side has at least this
# share of the tasks, so that such cuts nest O(log n) deep.
BALANCE = 8


def series_cuts(part: list[int], ins: Edges, outs: Edges) -> list[int]:
    """Positions k such that every task of ``part[:k]`` precedes every task of ``part[k:]``.

    ``part`` is connected and in topological order, so every such split is a prefix P, the
    rest Q. With reduced edges, P precedes Q exactly when every edge crossing the split goes
    from a task with no successor in P to a task with no dependency in Q, and every such pair
    is an edge. Whether a task has a successor on both sides depends only on its first and
    last successor, so the first condition fails exactly at the k inside some task's span
    (first successor, last successor] or (first dependency, last dependency]; the counts (of
    crossing edges and of the two kinds of task) are prefix sums. So each task is looked at
    once, not each edge, and the sums run in ``itertools.accumulate``.
    """
    m = len(part)
    if m < 2:
        return []
    spans = [0] * (m + 1)  # spans[x]: spans starting at x minus spans ending before x
    first_succ = [0] * m  # first_succ[x]: tasks whose first successor is at x
    last_dep = [0] * m  # last_dep[x]: tasks whose last dependency is at x
    for rows, ends, end in ((outs, first_succ, 0), (ins, last_dep, -1)):
        for row in rows:
            if row:
                lo, hi = row[0], row[-1]
                ends[row[end]] += 1
                if hi != lo:
                    spans[lo + 1] += 1
                    spans[hi + 1] -= 1
    # At k: inside[k] spans cover it, crossing[k-1] edges cross it (successors minus
    # dependencies of the tasks before it); P has k - left[k-1] tasks with no successor in P,
    # Q has m - k - right[k] tasks with no dependency in Q.
    inside = accumulate(spans)
    next(inside)
    crossing = accumulate(map(sub, map(len, outs), map(len, ins)))
    left = accumulate(first_succ)
    right = list(accumulate(reversed(last_dep)))
    right.reverse()
    return [
        k
        for k, covered, x, lt, rt in zip(range(1, m), inside, crossing, left, right[1:], strict=False)
        if not covered and x == (k - lt) * (m - k - rt)
    ]


def prime_cuts(
    part: list[int], eft: list[float], tail: list[float], first: bool = False
) -> list[tuple[list[int], list[int]]]:
    """Candidate two-stage splits (D, rest) of a prime part, D a downset, best first; both
    ascending. ``eft`` and ``tail`` are by position in the part (see ``level_rows`` and ``tails``).

    Every candidate minimises ``max eft over D + max tail over the rest`` (eft = earliest
    finish from the part's sources, tail = longest path from a task to the part's sinks,
    the task included); this is a lower bound of ``Series(D, rest)``, and for each
    threshold A the largest downset with all eft <= A is optimal, so sweeping tasks in
    eft order finds the optimum. Ties are broken several ways: they differ in where the
    tasks with slack go. With ``first`` only the first (the balanced cut in eft order).
    """
    m = len(part)
    candidates: list[tuple[list[int], list[int]]] = []
    # Both orders are linear extensions: eft never decreases along an edge and tail never
    # increases; the position (topological) settles zero-weight ties (the sorts are stable,
    # ``reverse`` included).
    orders = [sorted(range(m), key=eft.__getitem__)]
    if not first:
        orders.append(sorted(range(m), key=tail.__getitem__, reverse=True))
    for order in orders:
        # suffix[i]: the longest tail from order[i] on; costs[k - 1]: the bound of the cut
        # before order[k] (the latest eft before it plus the longest tail after it).
        suffix: list[float] = []
        append = suffix.append
        top = 0.0
        for t in map(tail.__getitem__, reversed(order)):
            if t > top:
                top = t
            append(top)
        suffix.reverse()
        costs: list[float] = []
        append = costs.append
        prefix = 0.0
        for e, after in zip(map(eft.__getitem__, order), suffix[1:], strict=False):
            if e > prefix:
                prefix = e
            append(prefix + after)
        best = min(costs)
        tol = TIE * max(1.0, best)
        limit = best + tol
        ties = [k for k, cost in enumerate(costs, 1) if cost <= limit]
        # The most balanced optimal cut keeps the recursion shallow (the one nearest the
        # middle, the earlier on a tie); the extremes put the tasks with slack all before or
        # all after the cut.
        at = bisect_left(ties, (m + 1) // 2)
        balanced = ties[at] if at < len(ties) else ties[-1]
        if at and m - 2 * ties[at - 1] <= abs(2 * balanced - m):
            balanced = ties[at - 1]
        for k in (balanced,) if first else (balanced, ties[0], ties[-1]):
            inside = [False] * m
            for i in order[:k]:
                inside[i] = True
            down = [part[i] for i in range(m) if inside[i]]
            if first:
                return [(down, [part[i] for i in range(m) if not inside[i]])]
            if all(down != d for d, _ in candidates):
                candidates.append((down, [part[i] for i in range(m) if not inside[i]]))
    return candidates


def tails(part: list[int], outs: Edges, w: Sequence[float]) -> list[float]:
    """``tail`` by position in ``part``: the longest path from each task to the part's
    sinks, the task included (``w``: task weights, by task)."""
    m = len(part)
    tail = [0.0] * m
    for i in range(m - 1, -1, -1):
        longest = 0.0
        for j in outs[i]:
            if tail[j] > longest:
                longest = tail[j]
        tail[i] = longest + w[part[i]]
    return tail


def spine_stages(
    part: list[int], ins: Edges, outs: Edges, tail: list[float], all_w: Sequence[float], group: int = 1
) -> tuple[list[list[int]], list[float]]:
    """Stages of a prime part, one per ``group`` tasks of its critical path (the spine),
    with the time window each stage is planned to take. ``ins``, ``outs`` and ``tail`` are
    by position in the part; ``all_w`` are the task weights, by task.

    Stage i runs its spine tasks alongside whatever else fits in its time window. Tasks are
    placed in dependency order at the time their dependencies finish; a task that would
    run past the end of its window is moved to the next window when its slack allows (or
    when that delays the whole less than stretching the window would), else it stretches
    the window. Windows are measured in a schedule that already includes earlier stretches.
    """
    return spine_splits(part, ins, outs, tail, all_w, (group,))[0]


def spine_splits(
    part: list[int], ins: Edges, outs: Edges, tail: list[float], all_w: Sequence[float], groups: Sequence[int]
) -> list[tuple[list[list[int]], list[float]]]:
    """``spine_stages`` for each of ``groups``: the spine and how late each task may go are
    found once for all of them."""
    w = list(map(all_w.__getitem__, part))
    m = len(part)
    cp = 0.0
    head = 0
    bar = cp * (1 + TIE) + TIE  # a later task must beat the longest so far by this
    for i in range(m):
        if tail[i] > bar:
            cp, head = tail[i], i
            bar = cp * (1 + TIE) + TIE
    spine = [head]
    v = head
    tol = TIE * max(1.0, cp)
    while True:
        rest = tail[v] - w[v]
        nxt = -1
        for y in outs[v]:
            if abs(tail[y] - rest) <= tol:
                nxt = y
                break
        if nxt < 0:
            break
        spine.append(nxt)
        v = nxt
    # latest[v]: the first spine task that (transitively) depends on v, by its index in the
    # spine (the spine's length when none does). With ``group`` spine tasks per window, v may
    # go no later than window latest[v] // group, so it never lands after such a task.
    on_spine = [-1] * m
    for i, c in enumerate(spine):
        on_spine[c] = i
    last = len(spine) - 1
    latest = [0] * m
    for v in range(m - 1, -1, -1):
        cap = last
        for y in outs[v]:
            bound = on_spine[y]
            if bound < 0:
                bound = latest[y]
            if bound < cap:
                cap = bound
        latest[v] = cap
    return [_placed(part, ins, tail, w, spine, latest, tol, group) for group in groups]


def _placed(
    part: list[int],
    ins: Edges,
    tail: list[float],
    w: list[float],
    spine: list[int],
    latest: list[int],
    tol: float,
    group: int,
) -> tuple[list[list[int]], list[float]]:
    """The stages and windows of ``spine_stages`` with ``group`` spine tasks per window, given
    the spine (positions), ``latest`` (see ``spine_splits``) and the weights by position."""
    m = len(part)
    # Window ends in the planned schedule; stretch[i] = how far stage i already overruns.
    # Consecutive spine tasks share a window when ``group`` > 1: fewer boundaries to cross.
    planned_start = [0.0] * m
    on_spine = [-1] * m
    ends: list[float] = []
    acc = 0.0
    for i, c in enumerate(spine):
        planned_start[c] = acc
        acc += w[c]
        on_spine[c] = i // group
        if i % group == group - 1 or i == len(spine) - 1:
            ends.append(acc)
    k = len(ends)
    stretch = [0.0] * k
    stage_of = [0] * m
    finish = [0.0] * m  # each placed task's planned finish (start + weight)
    stages: list[list[int]] = [[] for _ in range(k)]

    # shifted[i]: window i's end in the schedule so far (its planned end plus the stretches
    # of windows 0..i). Stretches are rare next to look-ups (about 1 in 250 on the bench
    # DAGs), so they update the suffix and look-ups read the list directly.
    shifted = list(ends)
    stretched = 0.0  # sum of all stretches, so the planned total is ends[-1] + stretched

    # limit[v]: the latest stage v may take.
    limit = latest if group == 1 else [x // group for x in latest]
    last_end = ends[-1]
    for v in range(m):
        t = 0.0
        s = 0
        for x in ins[v]:
            f = finish[x]
            if f > t:
                t = f
            if stage_of[x] > s:
                s = stage_of[x]
        wv = w[v]
        spine_stage = on_spine[v]
        if spine_stage >= 0:
            # Never before a dependency's stage (a delayed dependency may sit later).
            if spine_stage > s:
                s = spine_stage
            planned = planned_start[v] + (shifted[s - 1] - ends[s - 1] if s else 0.0)
            if planned > t:
                t = planned
        else:
            cap = limit[v]
            if s < cap and t >= shifted[s] - tol:
                # First window (up to cap) ending after t; window ends only grow with s.
                lo, hi = s + 1, cap
                while lo < hi:
                    mid = (lo + hi) // 2
                    if t >= shifted[mid] - tol:
                        lo = mid + 1
                    else:
                        hi = mid
                s = lo
            while s < cap:
                end = shifted[s]
                over = t + wv - end
                if over <= tol:
                    break
                # Latest start that keeps the planned total: total - tail.
                total = last_end + stretched
                late = end + tail[v] - total  # > 0: delaying to the next window costs this
                grow = over - stretch[s] if over > stretch[s] else 0.0
                if late <= grow:
                    s += 1
                    t = end
                else:
                    break
            over = t + wv - shifted[s]
            if over > stretch[s]:
                delta = over - stretch[s]
                stretch[s] = over
                stretched += delta
                for j in range(s, k):
                    shifted[j] += delta
        stage_of[v] = s
        finish[v] = t + wv
        stages[s].append(part[v])
    windows = [ends[i] - (ends[i - 1] if i else 0.0) + stretch[i] for i in range(k)]
    keep = [i for i in range(k) if stages[i]]
    return [stages[i] for i in keep], [windows[i] for i in keep]


def balanced(part: list[int], down: list[int]) -> bool:
    """True when ``down`` leaves each side at least 1/``BALANCE`` of ``part``'s tasks."""
    return len(part) // BALANCE <= len(down) <= len(part) - len(part) // BALANCE


def level_rows(
    part: list[int], ins: Edges, w: Sequence[float]
) -> tuple[float, int, float, list[float], list[list[int]]]:
    """The part's level-by-level structure in one pass: its makespan (the sum of each level's
    longest task), its Parallel count (levels of more than one task), the part's critical path,
    eft by position in the part, and the levels (tasks, by level).

    >>> level_rows([0, 1, 2], ins=[[], [], [0, 1]], w=[1.0, 2.0, 3.0])
    (5.0, 1, 5.0, [1.0, 2.0, 5.0], [[0, 1], [2]])
    """
    m = len(part)
    eft = [0.0] * m
    level = [0] * m
    widest: list[float] = []
    rows: list[list[int]] = []
    cp = 0.0
    for i, v in enumerate(part):
        lv = 0
        start = 0.0
        for x in ins[i]:
            if level[x] >= lv:
                lv = level[x] + 1
            if eft[x] > start:
                start = eft[x]
        level[i] = lv
        wv = w[v]
        finish = eft[i] = start + wv
        if finish > cp:
            cp = finish
        if lv == len(rows):
            rows.append([v])
            widest.append(wv)
        else:
            rows[lv].append(v)
            if wv > widest[lv]:
                widest[lv] = wv
    count = sum(1 for row in rows if len(row) > 1)
    return float(sum(widest)), count, cp, eft, rows
