"""Series-parallel modules found bottom-up, and side trees that hang off a DAG by one edge.

The top-down search in ``decompose`` costs O(tasks x nesting depth), and nesting can be as deep
as half the DAG (a chain with a side task at every step). These linear-time tools take over
past its work limit: ``contract`` shrinks series-parallel modules to single stand-in tasks, and
``Hanging`` folds away side trees whose best place is known without search.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.compiler import dag as dagmod
from orchestrator.compiler.sp import Leaf, Node, Parallel, Series, mirror, parallel, series


def contract(
    graph: dagmod.Dag, preds: list[list[int]], succs: list[list[int]]
) -> tuple[dict[str, Node], dagmod.Dag]:
    """Contract series-parallel modules bottom-up (:class:`Contraction`).

    Returns each module's structure by a stand-in task name (``"\\0"`` + its first task's index:
    it cannot clash with a real name) and the DAG of modules, with each module's makespan as
    its weight, in topological order.

    >>> modules, rest = contract(*_example())
    >>> rest.names, modules["\\x000"]
    (('\\x000',), Series(items=(Leaf(task='a'), Parallel(branches=(Leaf(task='b'), Leaf(task='c'))))))
    """
    contraction = Contraction(graph, preds, succs)
    return contraction.modules(), contraction.rest()


class Contraction:
    """Series-parallel modules contracted bottom-up; ``len`` is how many modules are left.

    The classic reductions (Valdes, Tarjan and Lawler): a task whose only successor has it as
    its only dependency joins it in a Series; tasks with the same dependencies and the same
    dependents join in a Parallel. Repeated, they shrink a series-parallel DAG to one node in
    near-linear time whatever its nesting depth, and leave the prime rest of any other DAG.

    The modules' structures (:meth:`modules`) and the DAG of modules (:meth:`rest`) are built
    when first asked for: ``decompose`` needs them only when contraction shrank the DAG well,
    and on a prime DAG of 10,000 tasks they are 10,000 one-task modules, built for nothing (about
    40% of contracting it).
    """

    def __init__(self, graph: dagmod.Dag, preds: list[list[int]], succs: list[list[int]]) -> None:
        self._graph = graph
        n = len(graph)
        pre = [set(p) for p in preds]
        suc = [set(x) for x in succs]
        alive = [True] * n
        # A module is ("S" | "P", [parts]) or a task index; flattened into Nodes at the end.
        shape: list[int | tuple[str, list[object]]] = list(range(n))
        span = list(graph.weights)
        # Neighbour sets are compared through order-free hashes kept up to date in O(1) per change
        # (sums of a fixed mix of each index), so a hub with thousands of neighbours is cheap to
        # re-examine; equal hashes are confirmed by comparing the sets.
        mix = [_mix(v) for v in range(n)]
        hp = [sum(map(mix.__getitem__, p)) & _MASK for p in preds]
        hs = [sum(map(mix.__getitem__, x)) & _MASK for x in succs]
        by_key: dict[tuple[int, int, int, int], int] = {}
        work = list(range(n - 1, -1, -1))

        def join(kind: str, first: int, second: int) -> None:
            a, b = shape[first], shape[second]
            parts: list[object] = a[1] if isinstance(a, tuple) and a[0] == kind else [a]
            if isinstance(b, tuple) and b[0] == kind:
                parts.extend(b[1])
            else:
                parts.append(b)
            shape[first] = (kind, parts)

        while work:
            v = work.pop()
            if not alive[v]:
                continue
            if len(suc[v]) == 1:
                (x,) = suc[v]
                if len(pre[x]) == 1:  # v then x, nothing else between them: one Series
                    join("S", v, x)
                    span[v] += span[x]
                    alive[x] = False
                    suc[v], hs[v] = suc[x], hs[x]
                    for y in sorted(suc[v], reverse=True):
                        pre[y].discard(x)
                        pre[y].add(v)
                        hp[y] = (hp[y] - mix[x] + mix[v]) & _MASK
                        work.append(y)
                    work.append(v)
                    continue
            key = (hp[v], hs[v], len(pre[v]), len(suc[v]))
            other = by_key.get(key)
            if (
                other is not None
                and other != v
                and alive[other]
                and (hp[other], hs[other], len(pre[other]), len(suc[other])) == key
                and pre[other] == pre[v]
                and suc[other] == suc[v]
            ):
                keep, gone = min(other, v), max(other, v)  # same neighbours: one Parallel
                join("P", keep, gone)
                span[keep] = max(span[keep], span[gone])
                alive[gone] = False
                for u in sorted(pre[gone], reverse=True):
                    suc[u].discard(gone)
                    hs[u] = (hs[u] - mix[gone]) & _MASK
                    work.append(u)
                for y in sorted(suc[gone], reverse=True):
                    pre[y].discard(gone)
                    hp[y] = (hp[y] - mix[gone]) & _MASK
                    work.append(y)
                by_key[key] = keep
                work.append(keep)
                continue
            by_key[key] = v
            if len(pre[v]) == 1:
                (u,) = pre[v]
                if len(suc[u]) == 1:
                    work.append(u)

        # A module's id is its first task, and a module's dependencies all come before its
        # first task, so ascending ids are a topological order.
        self._order = [v for v in range(n) if alive[v]]
        self._pre, self._suc, self._span, self._shape = pre, suc, span, shape
        self._modules: dict[str, Node] | None = None
        self._rest: dagmod.Dag | None = None

    def __len__(self) -> int:
        return len(self._order)

    def rest(self) -> dagmod.Dag:
        """The DAG of modules: each module one task named by its stand-in, weighing its makespan."""
        if self._rest is None:
            order, pre, suc = self._order, self._pre, self._suc
            index = {v: i for i, v in enumerate(order)}
            self._rest = dagmod.Dag(
                names=tuple(f"\0{v}" for v in order),
                preds=tuple(tuple(sorted(index[u] for u in pre[v])) for v in order),
                succs=tuple(tuple(sorted(index[y] for y in suc[v])) for v in order),
                weights=tuple(self._span[v] for v in order),
            )
        return self._rest

    def modules(self) -> dict[str, Node]:
        """Each module's structure by its stand-in name."""
        if self._modules is None:
            names = self._graph.names

            def build(piece: int | tuple[str, list[object]] | object) -> tuple[Node, int]:
                """The module's structure and its first task (branches are ordered by first
                task, as the top-down search orders components)."""
                if isinstance(piece, int):
                    return Leaf(names[piece]), piece
                assert isinstance(piece, tuple)
                kind, parts = piece
                children = [build(part) for part in parts]
                if kind == "S":
                    return series([c for c, _ in children]), children[0][1]
                children.sort(key=lambda c: c[1])
                return parallel([c for c, _ in children]), children[0][1]

            shape = self._shape
            self._modules = {f"\0{v}": build(shape[v])[0] for v in self._order}
        return self._modules


_MASK = (1 << 64) - 1


def _mix(v: int) -> int:
    """splitmix64 of ``v``: a fixed, well-spread 64-bit value per index (deterministic)."""
    z = (v + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _example() -> tuple[dagmod.Dag, list[list[int]], list[list[int]]]:
    graph = dagmod.build(["a", "b", "c"], {"b": ["a"], "c": ["a"]})
    preds, succs = dagmod.reduce_edges(graph)
    return graph, preds, succs


def substitute(node: Node, modules: Mapping[str, Node]) -> Node:
    """``node`` with each stand-in leaf replaced by its module."""
    if isinstance(node, Leaf):
        return modules[node.task]
    if isinstance(node, Series):
        return series([substitute(item, modules) for item in node.items])
    return parallel([substitute(branch, modules) for branch in node.branches])


def subgraph(
    graph: dagmod.Dag, preds: list[list[int]], succs: list[list[int]], keep: list[int]
) -> tuple[dagmod.Dag, tuple[list[list[int]], list[list[int]]]]:
    """The DAG induced by ``keep`` (ascending, convex), renumbered, with its reduced edges."""
    index = {v: i for i, v in enumerate(keep)}
    sub_preds = [[index[u] for u in preds[v] if u in index] for v in keep]
    sub_succs = [[index[y] for y in succs[v] if y in index] for v in keep]
    sub = dagmod.Dag(
        names=tuple(graph.names[v] for v in keep),
        preds=tuple(tuple(p) for p in sub_preds),
        succs=tuple(tuple(x) for x in sub_succs),
        weights=tuple(graph.weights[v] for v in keep),
    )
    return sub, (sub_preds, sub_succs)


class Hanging:
    """Trees of tasks that hang off the rest with a single edge, handled without search.

    An *out-hanging* task has exactly one dependency and only out-hanging dependents (a side
    task, or a side tree, after some task p); an *in-hanging* one has exactly one dependent and
    only in-hanging dependencies (a side input before some task q). Such trees are
    series-parallel on their own, and the best place for one is known: right after p, beside
    everything that follows p (nothing waits for it), or right before q, beside everything
    before q. The rest, the *core*, is convex (no path between two core tasks passes through a
    hanging one) and goes through the search. Besides being exact, this keeps a long chain with
    a side task at every step linear: searched whole, its nesting would cost tasks x depth.
    """

    def __init__(self, graph: dagmod.Dag, preds: list[list[int]], succs: list[list[int]]) -> None:
        n = len(graph)
        self.graph, self.preds, self.succs = graph, preds, succs
        out = [False] * n
        for v in range(n - 1, -1, -1):
            out[v] = len(preds[v]) == 1 and all(out[y] for y in succs[v])
        inside = [False] * n
        for v in range(n):
            if not out[v] and len(succs[v]) == 1 and not out[succs[v][0]]:
                inside[v] = all(inside[u] for u in preds[v])
        self.out, self.inside = out, inside
        self.core = [v for v in range(n) if not out[v] and not inside[v]]

    def _out_tree(self, root: int) -> Node:
        items: list[Node] = []
        v = root
        while True:  # walk chains iteratively: a long hanging chain stays linear
            items.append(Leaf(self.graph.names[v]))
            if len(self.succs[v]) != 1:
                break
            v = self.succs[v][0]
        if self.succs[v]:
            items.append(parallel([self._out_tree(y) for y in self.succs[v]]))
        return series(items)

    def _in_tree(self, root: int) -> Node:
        items: list[Node] = []
        v = root
        while True:
            items.append(Leaf(self.graph.names[v]))
            if len(self.preds[v]) != 1:
                break
            v = self.preds[v][0]
        if self.preds[v]:
            items.append(parallel([self._in_tree(u) for u in self.preds[v]]))
        items.reverse()
        return series(items)

    def attach(self, core: Node) -> Node:
        """``core`` with every hanging tree put back in its place."""
        names = self.graph.names
        after: dict[str, Node] = {}
        before: dict[str, Node] = {}
        for v in self.core:
            outs = [y for y in self.succs[v] if self.out[y]]
            if outs:
                after[names[v]] = parallel([self._out_tree(y) for y in outs])
            ins = [u for u in self.preds[v] if self.inside[u]]
            if ins:
                before[names[v]] = parallel([self._in_tree(u) for u in ins])

        # Out-trees go in directly; in-trees are out-trees of the structure mirrored in time.
        with_outs = put_after(core, after)
        mirrored = {task: mirror(tree) for task, tree in before.items()}
        return mirror(put_after(mirror(with_outs), mirrored)) if before else with_outs


def put_after(node: Node, after: Mapping[str, Node]) -> Node:
    """``node`` with ``after[p]`` run after each task p, beside everything that follows p in
    p's series (nothing waits for it)."""
    if isinstance(node, Leaf):
        return series([node, after[node.task]]) if node.task in after else node
    if isinstance(node, Parallel):
        return parallel([put_after(b, after) for b in node.branches])
    backward: list[Node] = []  # the rebuilt items after the current one, last first
    for item in reversed(node.items):
        if isinstance(item, Leaf) and item.task in after:
            tree = after[item.task]
            backward = [parallel([tree, series(backward[::-1])])] if backward else [tree]
            backward.append(item)
        else:
            backward.append(put_after(item, after))
    return series(backward[::-1])
