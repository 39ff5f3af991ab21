"""The decomposition's pure stage functions (``compiler.stages``), on small parts by hand."""

from __future__ import annotations

import doctest

from orchestrator.compiler import stages


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
