"""The decomposition's pure stage functions (``compiler.stages``), on small parts by hand."""

from __future__ import annotations

import doctest

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.compiler import stages
from orchestrator.compiler.stages import Edges


def test_docstring_examples() -> None:
    result = doctest.testmod(stages)
    assert result.attempted > 0 and result.failed == 0


# The "N": 0 -> 2, 1 -> 2, 1 -> 3 (positions are tasks here: the part is 0..3 in topological order).
N_INS = [[], [], [0, 1], [1]]
N_OUTS = [[2], [2, 3], [], []]


def test_the_n_has_no_series_cut() -> None:
    assert stages.series_cuts([0, 1, 2, 3], N_INS, N_OUTS) == []


def test_prime_cuts_minimise_the_lower_bound() -> None:
    w = [1.0, 1.0, 1.0, 5.0]
    _, _, _, eft, _ = stages.level_rows([0, 1, 2, 3], N_INS, w)
    tail = stages.tails([0, 1, 2, 3], N_OUTS, w)
    candidates = stages.prime_cuts([0, 1, 2, 3], eft, tail)
    # Every candidate reaches the bound max eft(D) + max tail(rest) = 1 + 5; the balanced one first.
    assert candidates[0] == ([0, 1], [2, 3])
    assert all(max(eft[i] for i in down) + max(tail[i] for i in rest) == 6.0 for down, rest in candidates)


def test_spine_stages_follow_the_critical_path() -> None:
    w = [1.0, 1.0, 1.0, 5.0]
    tail = stages.tails([0, 1, 2, 3], N_OUTS, w)
    found, windows = stages.spine_stages([0, 1, 2, 3], N_INS, N_OUTS, tail, w)
    assert found == [[0, 1], [2, 3]] and windows == [1.0, 5.0]


def test_balanced() -> None:
    part = list(range(16))
    assert stages.balanced(part, part[:2]) and not stages.balanced(part, part[:1])


@st.composite
def _parts(draw: st.DrawFn) -> tuple[list[int], Edges, Edges, list[float]]:
    """A random part in topological order with its edges by position, and weights by task
    (the tasks are spread out, as a part of a bigger DAG)."""
    m = draw(st.integers(min_value=2, max_value=30))
    part = sorted(draw(st.sets(st.integers(min_value=0, max_value=200), min_size=m, max_size=m)))
    ins: Edges = [sorted(draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=3))) if i else [] for i in range(m)]
    outs: Edges = [[] for _ in range(m)]
    for i, row in enumerate(ins):
        for j in row:
            outs[j].append(i)
    w = [0.0] * 201
    for v in part:
        w[v] = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.5, 20.0]))
    return part, ins, outs, w


@settings(max_examples=300, deadline=None)
@given(_parts())
def test_series_cuts_are_the_prefixes_that_precede_the_rest(case: tuple[list[int], Edges, Edges, list[float]]) -> None:
    part, drawn, _, _ = case
    m = len(part)
    reach = [0] * m  # reach[i]: bitset of the positions i reaches, i excluded
    succs: Edges = [[] for _ in range(m)]
    for i, row in enumerate(drawn):
        for j in row:
            succs[j].append(i)
    for i in range(m - 1, -1, -1):
        for j in succs[i]:
            reach[i] |= reach[j] | (1 << j)
    # The search passes reduced edges (no edge implied by a longer path) of a connected part.
    ins: Edges = [[j for j in row if not any(y != i and reach[y] >> i & 1 for y in succs[j])] for i, row in enumerate(drawn)]
    outs: Edges = [[] for _ in range(m)]
    for i, row in enumerate(ins):
        for j in row:
            outs[j].append(i)
    seen, todo = {0}, [0]
    while todo:
        u = todo.pop()
        for x in ins[u] + outs[u]:
            if x not in seen:
                seen.add(x)
                todo.append(x)
    if len(seen) < m:
        return
    after = [((1 << m) - 1) >> k << k for k in range(m)]  # after[k]: the positions k..m-1
    expected = [k for k in range(1, m) if all(reach[i] & after[k] == after[k] for i in range(k))]
    assert stages.series_cuts(part, ins, outs) == expected


@settings(max_examples=300, deadline=None)
@given(_parts())
def test_prime_cuts_lead_with_the_most_balanced_optimal_cut(case: tuple[list[int], Edges, Edges, list[float]]) -> None:
    part, ins, outs, w = case
    m = len(part)
    _, _, _, eft, _ = stages.level_rows(part, ins, w)
    tail = stages.tails(part, outs, w)
    order = sorted(range(m), key=eft.__getitem__)
    bound = {k: max(eft[i] for i in order[:k]) + max(tail[i] for i in order[k:]) for k in range(1, m)}
    best = min(bound.values())
    ties = [k for k in range(1, m) if bound[k] <= best + stages.TIE * max(1.0, best)]
    k = min(ties, key=lambda k: (abs(2 * k - m), k))  # nearest the middle, the earlier on a tie
    down = [part[i] for i in sorted(order[:k])]
    expected = (down, [v for v in part if v not in down])
    assert stages.prime_cuts(part, eft, tail, first=True) == [expected]
    assert stages.prime_cuts(part, eft, tail)[0] == expected
