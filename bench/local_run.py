"""Orchestration overhead of the embedded default: a 200-task DAG of no-op Batch jobs (``true``).

    python bench/local_run.py                 # chain and random DAG, 200 tasks each
    python bench/local_run.py --tasks 500 --shape chain

What it measures. A chain of N jobs runs one job at a time, so its wall time per task is
orchestration (compile excluded: it is measured separately) plus one process start; the
overhead per task is that minus this machine's process start, measured here the same way a job
starts (fork/exec of ``true`` from Python, waited for). The random DAG (each task after up to 3
earlier ones) runs with the machine's real capacity (``os.cpu_count()`` vCPUs, 1 vCPU per job) and
reports tasks per second. The target is at most 20 ms of overhead per task.

Everything runs for real: the compiled ASL on the engine, every history event committed to a
fresh SQLite store, each job a process with its own log file.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator import model  # noqa: E402
from orchestrator.local.runs import compile_plan, run_plan  # noqa: E402

TARGET_MS = 20.0


def process_start_ms(samples: int) -> tuple[float, float]:
    """Median and mean wall time of starting and reaping ``true`` from Python, in ms."""
    times = []
    true = shutil.which("true") or "true"
    for _ in range(samples):
        t0 = time.perf_counter()
        subprocess.run([true], check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), statistics.fmean(times)


def workflow(n: int, shape: str, seed: int = 7) -> model.Workflow:
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        if shape == "chain":
            after: tuple[str, ...] = (f"t{i - 1}",) if i else ()
        else:
            after = tuple(sorted({f"t{rng.randrange(i)}" for _ in range(rng.randint(0, 3))})) if i else ()
        tasks.append(model.Task(name=f"t{i}", job=model.BatchJob(image="alpine:3", command=("true",)), after=after))
    return model.Workflow(name=f"bench-{shape}-{n}", tasks=tuple(tasks))


def run(n: int, shape: str) -> dict[str, float]:
    wf = workflow(n, shape)
    home = tempfile.mkdtemp(prefix="orchestrator-bench-")
    try:
        t0 = time.perf_counter()
        plan = compile_plan(wf, os.getcwd())
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_plan(plan, {}, home=home, notice=lambda text: None)
        wall = time.perf_counter() - t0
        if result.status != "SUCCEEDED":
            raise SystemExit(f"{shape}: the run ended {result.status}: {result.error} {result.cause}")
        return {"compile_s": compile_s, "wall_s": wall, "events": float(len(result.history))}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--shape", choices=("chain", "random", "both"), default="both")
    args = parser.parse_args()
    n = args.tasks
    start_median, start_mean = process_start_ms(200)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}, "
          f"load average {load:.2f} (other work on the machine inflates every figure below)")
    print(f"process start (fork/exec/wait of `true` from Python, 200 samples): "
          f"median {start_median:.2f} ms, mean {start_mean:.2f} ms")
    ok = True
    if args.shape in ("chain", "both"):
        r = run(n, "chain")
        per_task = r["wall_s"] * 1000 / n
        overhead = per_task - start_median
        ok = overhead <= TARGET_MS
        print(f"chain of {n} no-op jobs: {r['wall_s']:.2f} s wall ({int(r['events'])} history events), "
              f"{per_task:.2f} ms per task → orchestration overhead {overhead:.2f} ms per task "
              f"(target ≤ {TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'}); compile {r['compile_s'] * 1000:.0f} ms")
    if args.shape in ("random", "both"):
        r = run(n, "random")
        print(f"random DAG of {n} no-op jobs (≤3 deps each, {os.cpu_count()} vCPUs): {r['wall_s']:.2f} s wall, "
              f"{n / r['wall_s']:.0f} tasks/s; compile {r['compile_s'] * 1000:.0f} ms")
    print(f"reproduce: python bench/local_run.py --tasks {n} --shape {args.shape}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
