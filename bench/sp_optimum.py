"""Exact optimum series-parallel makespan for small DAGs, to measure how far ``decompose`` is from it.

    python bench/sp_optimum.py                   # 300 DAGs per family, 8..12 tasks
    python bench/sp_optimum.py --count 100 --sizes 16 18 20 22

Any valid structure for a task set S restricted to a subset is valid for the subset and no
longer, so: a disconnected S runs best as the Parallel of its weakly connected components; a
connected S must be a Series at the top, i.e. a downset D of S then S - D, each solved
optimally. ``optimum`` memoises that recursion over task subsets (bitmasks), enumerating only
downsets and pruning a split whose critical-path lower bound cannot beat the best found. On the
layered bench DAGs it takes well under a second up to about 22 tasks; the cost grows
exponentially with the width of the DAG.

Reports, per generator family (bench/dagsource.py), mean and worst of optimum / critical path
(how far any series-parallel structure must be from the critical path) and of decompose /
optimum (how far the heuristic is from the best possible).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dagsource import BenchDag, random_adjacent, random_layered  # noqa: E402

from orchestrator.compiler import dag as dagmod  # noqa: E402
from orchestrator.compiler.decompose import decompose, level_barrier  # noqa: E402
from orchestrator.compiler.sp import makespan  # noqa: E402


def optimum(tasks: Sequence[str], after: Mapping[str, Sequence[str]], weights: Mapping[str, float]) -> float:
    """The smallest makespan of any series-parallel structure valid for the DAG (exact)."""
    graph = dagmod.build(tasks, after, weights)
    n = len(graph)
    if n == 0:
        return 0.0
    w = graph.weights
    pred = [0] * n
    near = [0] * n
    for v in range(n):
        for u in graph.preds[v]:
            pred[v] |= 1 << u
            near[v] |= 1 << u
            near[u] |= 1 << v
    memo: dict[int, float] = {}

    def cp(s: int) -> float:
        finish = [0.0] * n
        best = 0.0
        for v in range(n):
            if (s >> v) & 1:
                start = 0.0
                p = pred[v] & s
                while p:
                    u = (p & -p).bit_length() - 1
                    p &= p - 1
                    if finish[u] > start:
                        start = finish[u]
                finish[v] = start + w[v]
                if finish[v] > best:
                    best = finish[v]
        return best

    def members(s: int) -> list[int]:
        out = []
        while s:
            out.append((s & -s).bit_length() - 1)
            s &= s - 1
        return out

    def solve(s: int) -> float:
        found = memo.get(s)
        if found is not None:
            return found
        items = members(s)
        if len(items) == 1:
            memo[s] = w[items[0]]
            return w[items[0]]
        # weakly connected component of the lowest task
        comp = s & -s
        frontier = comp
        while frontier:
            v = (frontier & -frontier).bit_length() - 1
            frontier &= frontier - 1
            new = near[v] & s & ~comp
            comp |= new
            frontier |= new
        if comp != s:
            best = solve(comp)
            other = solve(s & ~comp)
            result = best if best > other else other
            memo[s] = result
            return result
        best = float("inf")
        bound = cp(s)
        # enumerate proper nonempty downsets D of s (topological order: include v only when all
        # its predecessors inside s are included)
        downsets: list[int] = []

        def walk(i: int, d: int) -> None:
            if i == len(items):
                if d and d != s:
                    downsets.append(d)
                return
            v = items[i]
            walk(i + 1, d)
            if pred[v] & s & ~d == 0:
                walk(i + 1, d | (1 << v))

        walk(0, 0)
        # cheapest lower bound first, so pruning bites early
        scored = sorted(((cp(d) + cp(s & ~d), d) for d in downsets), key=lambda x: x[0])
        for low, d in scored:
            if low >= best:
                break
            value = solve(d) + solve(s & ~d)
            if value < best:
                best = value
                if best <= bound * (1 + 1e-12):
                    break
        memo[s] = best
        return best

    return solve((1 << n) - 1)


def run(family: str, make: Callable[[int, int], BenchDag], sizes: list[int], count: int) -> dict[str, float]:
    opt_cp: list[float] = []
    heur_opt: list[float] = []
    barrier_opt: list[float] = []
    for k in range(count):
        n = sizes[k % len(sizes)]
        dag = make(n, 1_000 + k)
        cp = dagmod.critical_path(dag.tasks, dag.after, dag.weights)
        best = optimum(dag.tasks, dag.after, dag.weights)
        heur = makespan(decompose(dag.tasks, dag.after, dag.weights), dag.weights)
        barrier = makespan(level_barrier(dag.tasks, dag.after, dag.weights), dag.weights)
        if heur < best * (1 - 1e-9):
            raise AssertionError(f"{dag.name} seed {1_000 + k}: decompose {heur} beats the optimum {best}")
        opt_cp.append(best / cp)
        heur_opt.append(heur / best)
        barrier_opt.append(barrier / best)
    return {
        "opt_cp_mean": statistics.mean(opt_cp),
        "opt_cp_worst": max(opt_cp),
        "heur_opt_mean": statistics.mean(heur_opt),
        "heur_opt_worst": max(heur_opt),
        "heur_at_opt": sum(1 for x in heur_opt if x <= 1 + 1e-9) / len(heur_opt),
        "barrier_opt_mean": statistics.mean(barrier_opt),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=300, help="DAGs per family")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 9, 10, 11, 12])
    args = parser.parse_args(argv)
    print(
        "| generator | DAGs | tasks | optimum/CP mean | optimum/CP worst | decompose/optimum mean "
        "| decompose/optimum worst | decompose optimal | level-barrier/optimum mean |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    families: list[tuple[str, Callable[[int, int], BenchDag]]] = [
        ("random (harsh: 20% reach back)", random_layered),
        ("random-adjacent", random_adjacent),
    ]
    for name, make in families:
        r = run(name, make, args.sizes, args.count)
        sizes = f"{min(args.sizes)}-{max(args.sizes)}"
        print(
            f"| {name} | {args.count} | {sizes} | {r['opt_cp_mean']:.4f} | {r['opt_cp_worst']:.4f} "
            f"| {r['heur_opt_mean']:.4f} | {r['heur_opt_worst']:.4f} | {100 * r['heur_at_opt']:.0f}% "
            f"| {r['barrier_opt_mean']:.4f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
