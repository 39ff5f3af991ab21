"""compiler.decompose: DAG -> series-parallel structure.

Grouped by concern: golden shapes, exact recognition of series-parallel DAGs, invariants on
random DAGs (hypothesis), determinism across hash seeds, scale.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.compiler.decompose import critical_path, decompose, level_barrier, ratio
from orchestrator.compiler.modules import contract
from orchestrator.compiler.sp import (
    Leaf,
    Node,
    Parallel,
    Series,
    count_parallels,
    leaves,
    makespan,
    violations,
)

ROOT = Path(__file__).resolve().parent.parent


def L(name: str) -> Leaf:  # noqa: N802 - reads like the node it builds
    return Leaf(name)


def S(*items: Node) -> Series:  # noqa: N802
    return Series(items)


def P(*branches: Node) -> Parallel:  # noqa: N802
    return Parallel(branches)


# -- golden shapes -------------------------------------------------------------------------------


def test_single_task() -> None:
    assert decompose(["a"], {}) == L("a")


def test_independent_tasks_run_in_parallel() -> None:
    assert decompose(["a", "b", "c"], {}) == P(L("a"), L("b"), L("c"))


def test_chain() -> None:
    assert decompose(["a", "b", "c"], {"b": ["a"], "c": ["b"]}) == S(L("a"), L("b"), L("c"))


def test_diamond() -> None:
    after = {"b": ["a"], "c": ["a"], "d": ["b", "c"]}
    assert decompose(["a", "b", "c", "d"], after) == S(L("a"), P(L("b"), L("c")), L("d"))


def test_fork_join_with_a_chain_inside() -> None:
    after = {"b": ["a"], "c": ["a"], "d": ["b"], "e": ["c", "d"]}
    expected = S(L("a"), P(S(L("b"), L("d")), L("c")), L("e"))
    assert decompose(["a", "b", "c", "d", "e"], after) == expected


def test_redundant_edges_do_not_change_the_shape() -> None:
    after = {"b": ["a"], "c": ["a"], "d": ["b", "c", "a"]}
    assert decompose(["a", "b", "c", "d"], after) == S(L("a"), P(L("b"), L("c")), L("d"))


def test_n_shape_unit_weights() -> None:
    # a->c, b->c, b->d: the smallest DAG that is not series-parallel. c must wait for a and b;
    # with equal durations a barrier after {a, b} costs nothing.
    after = {"c": ["a", "b"], "d": ["b"]}
    assert decompose(["a", "b", "c", "d"], after) == S(P(L("a"), L("b")), P(L("c"), L("d")))
    assert ratio(["a", "b", "c", "d"], after) == 1.0


def test_n_shape_lets_the_long_chain_start_early() -> None:
    # b->d is long and a is long: a barrier after {a, b} would cost 5 + 5 = 10; the best
    # structure runs b then d beside a, and c after both (critical path 6, makespan 7).
    after = {"c": ["a", "b"], "d": ["b"]}
    weights = {"a": 5.0, "b": 1.0, "c": 1.0, "d": 5.0}
    node = decompose(["a", "b", "c", "d"], after, weights)
    assert node == S(P(L("a"), S(L("b"), L("d"))), L("c"))
    assert makespan(node, weights) == 7.0
    assert critical_path(["a", "b", "c", "d"], after, weights) == 6.0


def test_level_barrier_is_one_parallel_per_level() -> None:
    after = {"c": ["a"], "d": ["c"]}
    assert level_barrier(["a", "b", "c", "d"], after) == S(P(L("a"), L("b")), L("c"), L("d"))


def test_empty_workflow_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"^cannot build a structure for an empty workflow$"):
        decompose([], {})


def test_ratio_of_zero_length_dag_is_one() -> None:
    assert ratio(["a", "b"], {"b": ["a"]}, {"a": 0.0, "b": 0.0}) == 1.0


# -- strategies --------------------------------------------------------------------------------


@st.composite
def sp_trees(draw: st.DrawFn, depth: int = 3) -> list[list[str]] | str:
    """A random SP shape as nested lists: ["S", ...] / ["P", ...] / a task placeholder."""
    if depth == 0 or draw(st.integers(min_value=0, max_value=3)) == 0:
        return "x"
    kind = draw(st.sampled_from(["S", "P"]))
    width = draw(st.integers(min_value=2, max_value=3))
    return [kind, *(draw(sp_trees(depth=depth - 1)) for _ in range(width))]  # type: ignore[list-item]


def _sp_dag(
    tree: object, counter: list[int], after: dict[str, list[str]]
) -> tuple[list[str], list[str], list[str]]:
    """Tasks of an SP shape, with its dependencies written into ``after``: (tasks, sources, sinks)."""
    if not isinstance(tree, list):
        name = f"t{counter[0]}"
        counter[0] += 1
        return [name], [name], [name]
    parts = [_sp_dag(child, counter, after) for child in tree[1:]]
    tasks = [t for p in parts for t in p[0]]
    if tree[0] == "P":
        return tasks, [t for p in parts for t in p[1]], [t for p in parts for t in p[2]]
    for (_, _, sinks), (_, sources, _) in zip(parts, parts[1:], strict=False):
        for v in sources:
            after.setdefault(v, []).extend(sinks)
    return tasks, parts[0][1], parts[-1][2]


@st.composite
def sp_dags(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]], dict[str, float]]:
    after: dict[str, list[str]] = {}
    tasks, _, _ = _sp_dag(draw(sp_trees()), [0], after)
    weights = {t: draw(st.floats(min_value=0.0, max_value=100.0)) for t in tasks}
    order = draw(st.permutations(tasks))
    return list(order), after, weights


@st.composite
def random_dags(
    draw: st.DrawFn, max_tasks: int = 14
) -> tuple[list[str], dict[str, list[str]], dict[str, float]]:
    n = draw(st.integers(min_value=1, max_value=max_tasks))
    tasks = [f"t{i}" for i in range(n)]
    after: dict[str, list[str]] = {}
    for j in range(1, n):
        deps = draw(st.lists(st.integers(min_value=0, max_value=j - 1), max_size=3, unique=True))
        if deps:
            after[tasks[j]] = [tasks[i] for i in deps]
    weights = {t: draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0, 7.5, 20.0])) for t in tasks}
    order = draw(st.permutations(tasks))
    return list(order), after, weights


def _normalised(node: Node) -> bool:
    if isinstance(node, Leaf):
        return True
    children = node.items if isinstance(node, Series) else node.branches
    if len(children) < 2:
        return False
    if any(type(child) is type(node) for child in children):
        return False
    return all(_normalised(child) for child in children)


# -- series-parallel DAGs are recognised exactly ----------------------------------------------


@settings(max_examples=150, deadline=None)
@given(sp_dags())
def test_series_parallel_dags_compile_with_ratio_one(
    case: tuple[list[str], dict[str, list[str]], dict[str, float]],
) -> None:
    tasks, after, weights = case
    node = decompose(tasks, after, weights)
    assert violations(node, tasks, after) == []
    assert makespan(node, weights) == pytest.approx(critical_path(tasks, after, weights), rel=1e-9, abs=1e-9)


# -- invariants on any DAG -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(random_dags())
def test_invariants(case: tuple[list[str], dict[str, list[str]], dict[str, float]]) -> None:
    tasks, after, weights = case
    node = decompose(tasks, after, weights)
    # every task exactly once, every dependency finishes before its dependent starts
    assert sorted(leaves(node)) == sorted(tasks)
    assert violations(node, tasks, after) == []
    assert _normalised(node)
    # never worse than the naive baseline, never better than the critical path
    span = makespan(node, weights)
    assert span <= makespan(level_barrier(tasks, after, weights), weights) * (1 + 1e-9)
    assert span >= critical_path(tasks, after, weights) * (1 - 1e-9)
    # deterministic
    assert decompose(tasks, after, weights) == node


@settings(max_examples=200, deadline=None)
@given(random_dags(), st.sampled_from([0, 40, 400, 100_000]))
def test_every_result_builds_the_node_it_describes(
    case: tuple[list[str], dict[str, list[str]], dict[str, float]], budget: int
) -> None:
    # The search keeps each result's makespan, Parallel count, node kind and width, and builds
    # the node only for the structure it returns. Built, every result (the one returned and
    # every greedy one it cached) must be the node those figures describe.
    from orchestrator.compiler import dag as dagmod
    from orchestrator.compiler import decompose as module

    tasks, after, weights = case
    graph = dagmod.build(tasks, after, weights)
    search = module._Search(graph.names, graph.weights, dagmod.reduce_edges(graph), budget)
    top = search.run()
    wmap = dict(zip(graph.names, graph.weights, strict=True))
    kinds = {Leaf: module._LEAF, Series: module._SERIES, Parallel: module._PARALLEL}
    for found in [top, *search.cache.values()]:
        node = search._build(found)
        assert found.kind == kinds[type(node)]
        if isinstance(node, Leaf):
            assert found.width == 1
        else:
            assert found.width == len(node.items if isinstance(node, Series) else node.branches)
        assert found.parallels == count_parallels(node)
        assert found.span == pytest.approx(makespan(node, wmap), rel=1e-9, abs=1e-9)
        assert _normalised(node)
    assert sorted(leaves(_node(top))) == sorted(tasks)


def _node(found: object) -> Node:
    from orchestrator.compiler import decompose as module

    assert isinstance(found, module._Result) and found.node is not None
    return found.node


def test_missing_weights_default_to_one() -> None:
    after = {"c": ["a", "b"], "d": ["b"]}
    assert decompose(["a", "b", "c", "d"], after, {}) == decompose(["a", "b", "c", "d"], after)


_HASHSEED_SCRIPT = textwrap.dedent(
    """
    import random
    from orchestrator.compiler.decompose import decompose
    rng = random.Random(7)
    names = [f"task-{rng.randrange(10**9):09d}" for _ in range(400)]
    after = {}
    for j in range(1, len(names)):
        after[names[j]] = sorted({names[rng.randrange(max(0, j - 30), j)] for _ in range(rng.randint(0, 3))})
    weights = {n: rng.choice([1.0, 2.5, 10.0, 60.0]) for n in names}
    print(repr(decompose(names, after, weights)))
    """
)


def test_same_output_under_any_hash_seed() -> None:
    outputs = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _HASHSEED_SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


# -- scale -------------------------------------------------------------------------------------


def _random_layered(n: int, seed: int) -> tuple[list[str], dict[str, list[str]], dict[str, float]]:
    rng = random.Random(seed)
    layer_count = max(2, round(n**0.5))
    cuts = sorted(rng.sample(range(1, n), layer_count - 1))
    bounds = [0, *cuts, n]
    layers = [list(range(a, b)) for a, b in zip(bounds, bounds[1:], strict=False)]
    tasks = [f"t{i}" for i in range(n)]
    after: dict[str, list[str]] = {}
    for li in range(1, len(layers)):
        for v in layers[li]:
            deps = {
                rng.choice(layers[li - 1] if rng.random() < 0.8 else layers[rng.randrange(li)])
                for _ in range(3)
            }
            after[tasks[v]] = [tasks[u] for u in sorted(deps)]
    weights = {t: round(60.0 * rng.lognormvariate(0.0, 0.6), 3) for t in tasks}
    return tasks, after, weights


def test_ten_thousand_tasks() -> None:
    # Its speed is measured by bench/compile.py, not asserted here: a timed test fails on a busy machine.
    tasks, after, weights = _random_layered(10_000, 1)
    node = decompose(tasks, after, weights)
    assert len(leaves(node)) == 10_000
    assert violations(node, tasks, after) == []
    assert makespan(node, weights) <= makespan(level_barrier(tasks, after, weights), weights)


def test_a_long_chain_does_not_hit_the_recursion_limit() -> None:
    tasks = [f"t{i}" for i in range(5_000)]
    after = {tasks[i]: [tasks[i - 1]] for i in range(1, len(tasks))}
    node = decompose(tasks, after)
    assert isinstance(node, Series) and len(node.items) == 5_000


def test_deeply_nested_series_parallel_dag() -> None:
    # A chain with a side task at every step, 10,000 tasks: nested 5,000 Parallels deep. The
    # top-down search would cost tasks x depth; it gives up and folds the side tasks away.
    n = 5_000
    tasks = [f"c{i}" for i in range(n)] + [f"s{i}" for i in range(n)]
    after: dict[str, list[str]] = {}
    for i in range(1, n):
        after[f"c{i}"] = [f"c{i - 1}"]
        after[f"s{i}"] = [f"c{i - 1}"]
    started = time.perf_counter()
    node = decompose(tasks, after)
    assert time.perf_counter() - started < 10.0  # generous: about half a second here
    assert violations(node, tasks, after) == []
    assert makespan(node, {}) == critical_path(tasks, after)


def test_side_inputs_on_a_long_chain() -> None:
    # The mirror image: a side input before every step of a chain.
    n = 5_000
    tasks = [f"c{i}" for i in range(n)] + [f"s{i}" for i in range(n)]
    after = {f"c{i}": [f"c{i - 1}", f"s{i}"] for i in range(1, n)}
    weights = {t: float(1 + len(t) % 3) for t in tasks}
    node = decompose(tasks, after, weights)
    assert violations(node, tasks, after) == []
    assert makespan(node, weights) == pytest.approx(critical_path(tasks, after, weights))


def test_deep_nesting_that_rejoins() -> None:
    # Series(a0, Parallel(s0, Series(a1, Parallel(s1, ...))), z): every side task rejoins at
    # z, so nothing hangs; the bottom-up series-parallel reductions recognise it.
    n = 4_000
    tasks = [f"a{i}" for i in range(n)] + [f"s{i}" for i in range(n)] + ["z"]
    after: dict[str, list[str]] = {"z": [f"a{n - 1}"] + [f"s{i}" for i in range(n)]}
    for i in range(n):
        after[f"s{i}"] = [f"a{i}"]
        if i:
            after[f"a{i}"] = [f"a{i - 1}"]
    weights = {t: float(1 + (7 * len(t) + ord(t[-1])) % 5) for t in tasks}
    started = time.perf_counter()
    node = decompose(tasks, after, weights)
    assert time.perf_counter() - started < 10.0
    assert violations(node, tasks, after) == []
    assert makespan(node, weights) == pytest.approx(critical_path(tasks, after, weights))


@settings(max_examples=100, deadline=None)
@given(sp_dags())
def test_reductions_recognise_series_parallel_dags(
    case: tuple[list[str], dict[str, list[str]], dict[str, float]],
) -> None:
    from orchestrator.compiler import dag as dagmod

    tasks, after, weights = case
    graph = dagmod.build(tasks, after, weights)
    preds, succs = dagmod.reduce_edges(graph)
    found, rest = contract(graph, preds, succs)
    assert len(rest) == 1  # a series-parallel DAG contracts to a single module
    node = found[rest.names[0]]
    assert violations(node, tasks, after) == []
    assert _normalised(node)
    assert makespan(node, weights) == pytest.approx(critical_path(tasks, after, weights), rel=1e-9, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(random_dags())
def test_reductions_keep_every_invariant(
    case: tuple[list[str], dict[str, list[str]], dict[str, float]],
) -> None:
    from orchestrator.compiler import dag as dagmod
    from orchestrator.compiler import decompose as module

    tasks, after, weights = case
    graph = dagmod.build(tasks, after, weights)
    preds, succs = dagmod.reduce_edges(graph)
    found, rest = contract(graph, preds, succs)
    if len(rest) == 1:
        node = found[rest.names[0]]
    else:  # the prime rest searched with modules kept whole, then expanded
        node = module._modules_searched(graph, (preds, succs), found, rest)
    assert sorted(leaves(node)) == sorted(tasks)
    assert violations(node, tasks, after) == []
    assert _normalised(node)


@settings(max_examples=100, deadline=None)
@given(random_dags())
def test_folding_side_trees_keeps_every_invariant(
    case: tuple[list[str], dict[str, list[str]], dict[str, float]],
) -> None:
    # The fallback for deeply nested DAGs, exercised directly on small ones.
    from orchestrator.compiler import dag as dagmod
    from orchestrator.compiler import decompose as module

    tasks, after, weights = case
    graph = dagmod.build(tasks, after, weights)
    preds, succs = dagmod.reduce_edges(graph)
    node = module._folded(graph, preds, succs)
    assert sorted(leaves(node)) == sorted(tasks)
    assert violations(node, tasks, after) == []
    assert _normalised(node)


# -- against the exact optimum (bench/sp_optimum.py) ---------------------------------------------


def _optimum() -> Callable[[list[str], dict[str, list[str]], dict[str, float]], float]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import sp_optimum
    finally:
        sys.path.remove(str(ROOT / "bench"))
    solver: Callable[[list[str], dict[str, list[str]], dict[str, float]], float] = sp_optimum.optimum
    return solver


def test_exact_optimum_of_the_n_shape() -> None:
    optimum = _optimum()
    after = {"c": ["a", "b"], "d": ["b"]}
    weights = {"a": 5.0, "b": 1.0, "c": 1.0, "d": 5.0}
    assert optimum(["a", "b", "c", "d"], after, weights) == 7.0


@settings(max_examples=60, deadline=None)
@given(random_dags(max_tasks=9))
def test_decompose_is_never_better_than_the_exact_optimum(
    case: tuple[list[str], dict[str, list[str]], dict[str, float]],
) -> None:
    # Checks the solver as much as decompose: the optimum lies between the critical path and
    # any valid structure's makespan.
    tasks, after, weights = case
    best = _optimum()(tasks, after, weights)
    span = makespan(decompose(tasks, after, weights), weights)
    assert critical_path(tasks, after, weights) * (1 - 1e-9) <= best <= span * (1 + 1e-9)


@settings(max_examples=40, deadline=None)
@given(sp_dags())
def test_exact_optimum_of_series_parallel_dags_is_the_critical_path(
    case: tuple[list[str], dict[str, list[str]], dict[str, float]],
) -> None:
    tasks, after, weights = case
    best = _optimum()(tasks, after, weights)
    assert best == pytest.approx(critical_path(tasks, after, weights), rel=1e-9, abs=1e-9)
