"""Generate the benchmark DAGs from real scientific workflow traces (wfcommons) and cache them.

Run once (needs the ``bench`` extra: ``pip install -e '.[bench]'``)::

    python bench/make_dags.py

Writes ``bench/dags/<recipe>-<n>.json.gz``: gzipped JSON ``{"name", "recipe", "requested",
"tasks": [names], "after": [[indices of deps] per task], "weights": [seconds per task]}`` with
weights = the generated task runtimes (dependencies as indices keep 10,000-task files small).
The files are committed so ``bench/compile.py`` runs without wfcommons. wfcommons draws from
Python's and numpy's global random generators, so both are seeded per DAG for repeatability.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "dags"
SIZES = (100, 1_000, 10_000)
# The nine recipe families named in the issue; wfcommons class name -> short file name.
RECIPES = {
    "MontageRecipe": "montage",
    "EpigenomicsRecipe": "epigenomics",
    "GenomeRecipe": "1000genome",
    "SoykbRecipe": "soykb",
    "CyclesRecipe": "cycles",
    "SeismologyRecipe": "seismology",
    "BlastRecipe": "blast",
    "BwaRecipe": "bwa",
    "SrasearchRecipe": "srasearch",
}


def generate(recipe_name: str, size: int, seed: int) -> dict[str, Any]:
    import numpy as np
    import wfcommons.wfchef.recipes as recipes
    from wfcommons import WorkflowGenerator

    random.seed(seed)
    np.random.seed(seed)
    recipe = getattr(recipes, recipe_name).from_num_tasks(size)
    wf = WorkflowGenerator(recipe).build_workflow()
    nodes = sorted(wf.nodes)
    tasks = list(nodes)
    index = {t: i for i, t in enumerate(tasks)}
    after = [sorted(index[p] for p in wf.predecessors(t)) for t in tasks]
    weights = [round(max(float(wf.nodes[t]["task"].runtime), 0.0), 3) for t in tasks]
    return {"tasks": tasks, "after": after, "weights": weights}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for seed_base, (cls, short) in enumerate(RECIPES.items()):
        for size in SIZES:
            path = OUT / f"{short}-{size}.json.gz"
            if path.exists():
                continue
            started = time.perf_counter()
            try:
                body = generate(cls, size, seed=1000 * seed_base + size)
            except Exception as exc:  # a recipe may not scale to a size: report, go on
                print(f"{short} {size}: skipped ({type(exc).__name__}: {exc})", flush=True)
                continue
            doc = {"name": f"{short}-{size}", "recipe": cls, "requested": size, **body}
            text = json.dumps(doc, separators=(",", ":"))
            # mtime=0: the same DAG gives byte-identical files, so regenerating shows no diff.
            path.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))
            took = time.perf_counter() - started
            print(f"{short} {size}: {len(body['tasks'])} tasks, {took:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
