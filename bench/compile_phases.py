"""CPU seconds of each pass of ``compile_workflow`` on the bench DAGs (every task a Batch job).

    python bench/compile_phases.py              # the ~10,000-task DAGs
    python bench/compile_phases.py --only 1000  # DAGs whose name contains "1000"

Columns: decompose (timed inside compile_workflow), after = everything else, then the parts of
``orchestrator.compiler``'s passes (``PASSES``): plan (cost tasks, cut into machines), render (typed ASL builders),
dicts (builders to dicts), dumps (JSON text), measure (quota figures), checks (every task once,
results payload). CPU time, so other work on the machine moves the figures less than wall time.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dagsource import BenchDag, random_dags, wfcommons_dags  # noqa: E402

import orchestrator.compiler as compiler  # noqa: E402
from orchestrator import model  # noqa: E402
from orchestrator.compiler import asl, quotas, render  # noqa: E402
from orchestrator.compiler import decompose as decompose_module  # noqa: E402

PHASES = ("decompose", "plan", "render", "dicts", "dumps", "measure", "checks")
_spent: dict[str, float] = {}
_inside: set[str] = set()


def _timed(owner: Any, name: str, phase: str) -> None:
    """Add the CPU time of ``owner.name`` to ``phase`` (outermost calls only: shrink recurses,
    and serialising a task to cost it counts as planning)."""
    original: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        if phase in _inside or (phase == "dumps" and "plan" in _inside):
            return original(*args, **kwargs)
        _inside.add(phase)
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            _spent[phase] = _spent.get(phase, 0.0) + time.process_time() - started
            _inside.discard(phase)

    setattr(owner, name, timed)


def _instrument() -> None:
    _timed(decompose_module, "decompose", "decompose")
    _timed(compiler, "_leaf_costs", "plan")
    _timed(quotas.Planner, "shrink", "plan")
    _timed(render, "render_machine", "render")
    _timed(asl.StateMachine, "render", "dicts")
    _timed(compiler, "dumps", "dumps")
    _timed(quotas, "measure", "measure")
    _timed(compiler, "_check_every_task_once", "checks")
    _timed(compiler, "_peak_results_bytes", "checks")


def _workflow(dag: BenchDag) -> model.Workflow:
    job = model.BatchJob(image="bench:1", command=("run",))
    tasks = tuple(
        model.Task(name=n, job=job, after=tuple(dag.after.get(n, ())), expected_duration=dag.weights[n])
        for n in dag.tasks
    )
    return model.Workflow(name=dag.name, tasks=tasks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="10000", help="only DAGs whose name contains this")
    args = parser.parse_args(argv)
    _instrument()
    print("| DAG | tasks | machines | total | " + " | ".join(("decompose", "after", *PHASES[1:])) + " |")
    print("|---|" + "---:|" * (4 + len(PHASES)))
    for dag in [d for d in wfcommons_dags() + random_dags() if args.only in d.name]:
        wf = _workflow(dag)
        _spent.clear()
        gc.collect()
        started = time.process_time()
        result = compiler.compile_workflow(wf)
        total = time.process_time() - started
        cells = [_spent.get("decompose", 0.0), total - _spent.get("decompose", 0.0)]
        cells += [_spent.get(p, 0.0) for p in PHASES[1:]]
        print(
            f"| {dag.name} | {len(dag.tasks)} | {len(result.definitions)} | {total:.2f} | "
            + " | ".join(f"{c:.3f}" for c in cells)
            + " |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
