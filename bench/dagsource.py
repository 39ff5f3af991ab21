"""The benchmark DAGs: cached wfcommons workflows (``bench/dags/``) and seeded random layered DAGs.

Shared by ``bench/compile.py`` and the tests, so both measure the same shapes.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

DAG_DIR = Path(__file__).resolve().parent / "dags"
RANDOM_SIZES = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
RANDOM_SEED = 20_240_601


@dataclass(frozen=True, slots=True)
class BenchDag:
    name: str
    family: str
    tasks: list[str]
    after: dict[str, list[str]]
    weights: dict[str, float]


def load_cached(path: Path) -> BenchDag:
    doc = json.loads(gzip.decompress(path.read_bytes()))
    tasks: list[str] = doc["tasks"]
    after = {tasks[i]: [tasks[j] for j in deps] for i, deps in enumerate(doc["after"]) if deps}
    weights = dict(zip(tasks, (float(x) for x in doc["weights"]), strict=True))
    family = doc["name"].rsplit("-", 1)[0]
    return BenchDag(doc["name"], family, tasks, after, weights)


def wfcommons_dags() -> list[BenchDag]:
    return [load_cached(p) for p in sorted(DAG_DIR.glob("*.json.gz"))]


def random_layered(n: int, seed: int, back: float = 0.2, family: str = "random") -> BenchDag:
    """A random layered DAG of ``n`` tasks (the "harsh" family, ``back`` = 0.2).

    Parameters, all fixed but ``back``:

    - layers: ``max(2, round(sqrt(n)))``, split at random points, so widths vary widely;
    - dependencies: each task past the first layer draws 1, 1, 2, 2 or 3 times (uniform among
      those five) a dependency: with probability ``1 - back`` a random task of the previous
      layer, else a random task of any earlier layer (duplicates merge);
    - durations: ``60 * lognormal(0, 0.6)`` seconds (median 60 s, 90% within 22-160 s).

    With ``back`` = 0 every edge joins adjacent layers: the classic layer-by-layer generator
    (``random_adjacent``). Reaching back makes near-critical paths of different lengths cross
    at many layers, which is much harder for any series-parallel structure.
    """
    rng = random.Random(seed)
    layer_count = max(2, round(n**0.5))
    cuts = sorted(rng.sample(range(1, n), layer_count - 1))
    bounds = [0, *cuts, n]
    layers = [list(range(a, b)) for a, b in zip(bounds, bounds[1:], strict=False)]
    tasks = [f"t{i}" for i in range(n)]
    after: dict[str, list[str]] = {}
    for li in range(1, len(layers)):
        for v in layers[li]:
            deps: set[int] = set()
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                source = layers[li - 1] if rng.random() < 1.0 - back else layers[rng.randrange(li)]
                deps.add(rng.choice(source))
            after[tasks[v]] = [tasks[u] for u in sorted(deps)]
    weights = {t: round(60.0 * rng.lognormvariate(0.0, 0.6), 3) for t in tasks}
    return BenchDag(f"{family}-{n}", family, tasks, after, weights)


def random_adjacent(n: int, seed: int) -> BenchDag:
    """The classic layer-by-layer random DAG: as ``random_layered`` but every dependency is on
    the previous layer (``back`` = 0)."""
    return random_layered(n, seed, back=0.0, family="random-adjacent")


def random_dags() -> list[BenchDag]:
    """Both random families at every size of ``RANDOM_SIZES``, harsh first."""
    harsh = [random_layered(n, RANDOM_SEED + n) for n in RANDOM_SIZES]
    return harsh + [random_adjacent(n, RANDOM_SEED + n) for n in RANDOM_SIZES]
