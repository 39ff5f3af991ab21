"""compiler.dag: checked construction, deterministic order, critical path, transitive reduction."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.compiler import dag
from orchestrator.errors import CompileError

# -- construction and errors ---------------------------------------------------------------


def test_topological_order_breaks_ties_by_listing_order() -> None:
    assert dag.topological_order(["c", "b", "a"], {}) == ["c", "b", "a"]
    assert dag.topological_order(["c", "b", "a"], {"c": ["a"]}) == ["b", "a", "c"]
    assert dag.topological_order(["d", "c", "b", "a"], {"d": ["b"], "c": ["a"]}) == ["b", "d", "a", "c"]


def test_build_renumbers_in_topological_order() -> None:
    graph = dag.build(["z", "y", "x"], {"z": ["x"], "y": ["z"]}, {"z": 2.0})
    assert graph.names == ("x", "z", "y")
    assert graph.preds == ((), (0,), (1,))
    assert graph.succs == ((1,), (2,), ())
    assert graph.weights == (1.0, 2.0, 1.0)


def test_duplicate_dependencies_are_merged() -> None:
    graph = dag.build(["a", "b"], {"b": ["a", "a"]})
    assert graph.preds == ((), (0,))


def test_cycle_is_named_in_run_order() -> None:
    with pytest.raises(dag.CycleError, match=r"^dependency cycle: b -> c -> d -> b ") as info:
        dag.build(["a", "b", "c", "d"], {"b": ["a", "d"], "c": ["b"], "d": ["c"]})
    assert info.value.cycle == ("b", "c", "d", "b")


def test_self_dependency_is_a_cycle() -> None:
    with pytest.raises(dag.CycleError, match=r"^dependency cycle: a -> a "):
        dag.build(["a"], {"a": ["a"]})


def test_cycle_error_is_a_compile_error() -> None:
    with pytest.raises(CompileError):
        dag.build(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_unknown_dependency() -> None:
    with pytest.raises(
        CompileError,
        match=r"^task 'b' runs after unknown task 'x'; 'after' must name tasks of this workflow$",
    ):
        dag.build(["a", "b"], {"b": ["x"]})


def test_the_first_bad_dependency_is_reported() -> None:
    # Dependencies are checked in the order given: a self-dependency before an unknown task
    # is reported as the cycle, an unknown task before a self-dependency as unknown.
    with pytest.raises(dag.CycleError, match=r"^dependency cycle: b -> b "):
        dag.build(["a", "b"], {"b": ["a", "b", "x"]})
    with pytest.raises(CompileError, match=r"^task 'b' runs after unknown task 'x';"):
        dag.build(["a", "b"], {"b": ["a", "x", "b"]})


def test_dependencies_of_unknown_task() -> None:
    with pytest.raises(CompileError, match=r"^dependencies given for unknown task 'q'$"):
        dag.build(["a"], {"q": ["a"]})


def test_duplicate_task() -> None:
    with pytest.raises(CompileError, match=r"^task 'a' is listed twice; task names must be unique$"):
        dag.build(["a", "b", "a"], {})


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_weight(bad: float) -> None:
    with pytest.raises(CompileError, match=r"^task 'a': expected duration must be a finite number >= 0"):
        dag.build(["a"], {}, {"a": bad})


def test_the_first_bad_weight_in_order_is_reported() -> None:
    # In topological order c comes first (b runs after a), though b is listed first.
    with pytest.raises(CompileError, match=r"^task 'c': expected duration must be a finite number >= 0, got -2$"):
        dag.build(["b", "c", "a"], {"b": ["a"]}, {"a": 1.0, "b": -1, "c": -2})


def test_weights_are_floats_and_default_to_one() -> None:
    built = dag.build(["a", "b", "c"], {"c": ["a"]}, {"a": 2, "c": 0.5})
    assert built.weights == (2.0, 1.0, 0.5) and all(type(x) is float for x in built.weights)


# -- critical path ---------------------------------------------------------------------------


def test_critical_path_picks_the_longest_chain() -> None:
    after = {"b": ["a"], "c": ["a"], "d": ["b", "c"]}
    assert dag.critical_path(["a", "b", "c", "d"], after, {"a": 1, "b": 5, "c": 2, "d": 1}) == 7.0


def test_critical_path_defaults_to_unit_weights() -> None:
    assert dag.critical_path(["a", "b", "c"], {"b": ["a"], "c": ["b"]}) == 3.0


def test_critical_path_of_empty_dag_is_zero() -> None:
    assert dag.critical_path([], {}) == 0.0


# -- transitive reduction ----------------------------------------------------------------------


def test_reduction_drops_implied_edges() -> None:
    after = {"b": ["a"], "c": ["a", "b"], "d": ["a", "b", "c"]}
    assert dag.reduced(["a", "b", "c", "d"], after) == {"a": (), "b": ("a",), "c": ("b",), "d": ("c",)}


def test_reduction_keeps_a_diamond() -> None:
    after = {"b": ["a"], "c": ["a"], "d": ["b", "c", "a"]}
    assert dag.reduced(["a", "b", "c", "d"], after) == {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}


@st.composite
def dags(draw: st.DrawFn, max_tasks: int = 9) -> tuple[list[str], dict[str, list[str]]]:
    n = draw(st.integers(min_value=1, max_value=max_tasks))
    tasks = [f"t{i}" for i in range(n)]
    after: dict[str, list[str]] = {}
    for j in range(1, n):
        deps = draw(st.lists(st.integers(min_value=0, max_value=j - 1), max_size=3, unique=True))
        if deps:
            after[tasks[j]] = [tasks[i] for i in deps]
    order = draw(st.permutations(tasks))
    return list(order), after


def _closure(tasks: list[str], after: dict[str, list[str]]) -> set[tuple[str, str]]:
    reach = {(u, v) for v, deps in after.items() for u in deps}
    for k, i, j in itertools.product(tasks, repeat=3):
        if (i, k) in reach and (k, j) in reach:
            reach.add((i, j))
    return reach


@settings(max_examples=150, deadline=None)
@given(dags())
def test_reduction_keeps_reachability_and_is_minimal(case: tuple[list[str], dict[str, list[str]]]) -> None:
    tasks, after = case
    red = {t: list(deps) for t, deps in dag.reduced(tasks, after).items()}
    assert _closure(tasks, red) == _closure(tasks, after)
    edges = [(u, v) for v, deps in red.items() for u in deps]
    for u, v in edges:  # dropping any kept edge loses a reachable pair
        smaller = {t: [d for d in deps if (d, t) != (u, v)] for t, deps in red.items()}
        assert (u, v) not in _closure(tasks, smaller)


@settings(max_examples=100, deadline=None)
@given(dags())
def test_topological_order_respects_every_dependency(case: tuple[list[str], dict[str, list[str]]]) -> None:
    tasks, after = case
    order = dag.topological_order(tasks, after)
    position = {t: i for i, t in enumerate(order)}
    assert sorted(order) == sorted(tasks)
    assert all(position[u] < position[v] for v, deps in after.items() for u in deps)
