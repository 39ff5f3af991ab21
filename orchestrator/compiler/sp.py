"""Series-parallel structures: what Step Functions can express.

A Step Functions state machine can only chain states one after another (``Next``) and run
branches side by side in a ``Parallel`` state, which finishes when *all* of its branches have
finished. So every compiled workflow is a tree of these three node kinds; ``decompose`` (in
``decompose.py``) turns an arbitrary DAG into one.

>>> tree = Series((Leaf("a"), Parallel((Leaf("b"), Leaf("c"))), Leaf("d")))
>>> makespan(tree, {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0})
7.0
>>> leaves(tree)
['a', 'b', 'c', 'd']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Leaf:
    """One task: becomes exactly one Task state named ``task``."""

    task: str


@dataclass(frozen=True, slots=True)
class Series:
    """Items run one after the other, in order."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Parallel:
    """All branches start together; the node is done when every branch is done."""

    branches: tuple[Node, ...]


Node = Leaf | Series | Parallel


def makespan(node: Node, weights: Mapping[str, float]) -> float:
    """Finishing time of ``node`` started at 0: Leaf = its weight (1.0 when missing),
    Series = sum of items, Parallel = max of branches.

    >>> makespan(Parallel((Leaf("a"), Series((Leaf("b"), Leaf("c"))))), {"a": 3.0})
    3.0
    """
    # Iterative post-order so a 10,000-task chain of nested nodes cannot hit the recursion limit.
    stack: list[tuple[Node, bool]] = [(node, False)]
    values: list[float] = []
    while stack:
        current, expanded = stack.pop()
        if isinstance(current, Leaf):
            values.append(float(weights.get(current.task, 1.0)))
            continue
        children = current.items if isinstance(current, Series) else current.branches
        if not expanded:
            stack.append((current, True))
            stack.extend((child, False) for child in children)
            continue
        n = len(children)
        parts = values[len(values) - n :] if n else []
        del values[len(values) - n :]
        if isinstance(current, Series):
            values.append(float(sum(parts)))
        else:
            values.append(max(parts) if parts else 0.0)
    return values[0]


def iter_leaves(node: Node) -> Iterator[str]:
    """Task names in left-to-right order (iterative, so deep trees are fine)."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Leaf):
            yield current.task
        elif isinstance(current, Series):
            stack.extend(reversed(current.items))
        else:
            stack.extend(reversed(current.branches))


def leaves(node: Node) -> list[str]:
    """Task names in left-to-right order.

    >>> leaves(Series((Leaf("x"), Parallel((Leaf("y"), Leaf("z"))))))
    ['x', 'y', 'z']
    """
    return list(iter_leaves(node))


def mirror(node: Node) -> Node:
    """Mirror a structure in time: Series items in reverse order (Parallel is symmetric).
    A valid structure for a DAG, mirrored, is valid for the DAG with every edge turned around.

    >>> mirror(Series((Leaf("a"), Parallel((Leaf("b"), Leaf("c"))))))
    Series(items=(Parallel(branches=(Leaf(task='b'), Leaf(task='c'))), Leaf(task='a')))
    """
    if isinstance(node, Leaf):
        return node
    if isinstance(node, Series):
        return Series(tuple(mirror(item) for item in reversed(node.items)))
    return Parallel(tuple(mirror(branch) for branch in node.branches))


def count_parallels(node: Node) -> int:
    """Number of Parallel nodes (each becomes one Parallel state); used to break ties."""
    total = 0
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Series):
            stack.extend(current.items)
        elif isinstance(current, Parallel):
            total += 1
            stack.extend(current.branches)
    return total


def series(items: list[Node] | tuple[Node, ...]) -> Node:
    """Normalised Series: flattens nested Series, drops the wrapper around one item."""
    flat: list[Node] = []
    for item in items:
        if isinstance(item, Series):
            flat.extend(item.items)
        else:
            flat.append(item)
    if not flat:
        raise ValueError("a Series needs at least one item")
    return flat[0] if len(flat) == 1 else Series(tuple(flat))


def parallel(branches: list[Node] | tuple[Node, ...]) -> Node:
    """Normalised Parallel: flattens nested Parallel, drops the wrapper around one branch."""
    flat: list[Node] = []
    for branch in branches:
        if isinstance(branch, Parallel):
            flat.extend(branch.branches)
        else:
            flat.append(branch)
    if not flat:
        raise ValueError("a Parallel needs at least one branch")
    return flat[0] if len(flat) == 1 else Parallel(tuple(flat))


def violations(node: Node, tasks: Sequence[str], after: Mapping[str, Sequence[str]]) -> list[str]:
    """Problems that make ``node`` an invalid structure for the DAG ``tasks``/``after``.

    Checks that every task appears exactly once and that for every dependency u -> v the two
    meet at a Series with u's item before v's item (so u finishes before v starts, whatever the
    durations). An empty list means valid.

    >>> violations(Parallel((Leaf("a"), Leaf("b"))), ["a", "b"], {"b": ["a"]})
    ["'b' runs after 'a' but they are in parallel branches"]
    """
    problems: list[str] = []
    # parent[i] = (parent id, child position); ids are assigned in pre-order.
    parent: list[tuple[int, int]] = []
    kind: list[type] = []
    leaf_id: dict[str, int] = {}
    stack: list[tuple[Node, int, int]] = [(node, -1, -1)]
    while stack:
        current, up, pos = stack.pop()
        ident = len(parent)
        parent.append((up, pos))
        kind.append(type(current))
        if isinstance(current, Leaf):
            if current.task in leaf_id:
                problems.append(f"'{current.task}' appears more than once")
            leaf_id[current.task] = ident
            continue
        children = current.items if isinstance(current, Series) else current.branches
        for i in range(len(children) - 1, -1, -1):
            stack.append((children[i], ident, i))
    depth = [0] * len(parent)
    for i in range(1, len(parent)):
        depth[i] = depth[parent[i][0]] + 1  # pre-order: a parent's id is smaller
    known = set(tasks)
    for name in tasks:
        if name not in leaf_id:
            problems.append(f"'{name}' is missing")
    for name in leaf_id:
        if name not in known:
            problems.append(f"'{name}' is not a task of the DAG")
    for v in tasks:
        for u in after.get(v, ()):
            if u not in leaf_id or v not in leaf_id:
                continue
            a, b = leaf_id[u], leaf_id[v]
            pos_a = pos_b = -1
            while depth[a] > depth[b]:
                a, pos_a = parent[a]
            while depth[b] > depth[a]:
                b, pos_b = parent[b]
            while a != b:
                a, pos_a = parent[a]
                b, pos_b = parent[b]
            if kind[a] is not Series or pos_a >= pos_b:
                problems.append(
                    f"'{v}' runs after '{u}' but they are in parallel branches"
                    if kind[a] is Parallel
                    else f"'{v}' runs after '{u}' but is placed before it"
                )
    return problems
