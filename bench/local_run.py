"""Cost of the embedded default: per-task overhead of Batch-process and Python tasks, and fixed cost.

    python bench/local_run.py                      # 200 tasks, every figure
    python bench/local_run.py --tasks 500 --runs 5

What it measures, all for real (the compiled ASL on the engine, every history event committed to
a fresh SQLite store, each job a process with its own log file, each Python task a local Lambda
function with its own worker):

* **process start**: fork/exec/wait of ``true`` from Python, the floor any job runner pays;
  **interpreter start**: ``python -c pass``, the floor any Python command pays.
* **per-task overhead, in process**: a chain of N tasks runs one task at a time, so its wall time
  per task is orchestration plus the task itself; for Batch jobs (``true``) the overhead is that
  minus a process start, for Python tasks (a no-op function) the whole per-task time is overhead.
* **fixed cost**: ``orchestrator run`` of a one-task workflow from the command line (interpreter,
  imports, load, compile, store, the run), median of ``--runs``.
* **end to end**: ``orchestrator run`` of a layered DAG of N no-op tasks (20 layers, each task after
  every task of the layer before) from the command line, median of ``--runs``, the figure peers
  are compared on (bench/README.md).

Each command-line figure also gives its median CPU time (the command's and its reaped children's:
Lambda zygotes and workers, job processes), which other work on a shared machine inflates far
less than the wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestrator import model  # noqa: E402
from orchestrator.local.runs import compile_plan, run_plan  # noqa: E402

TARGET_MS = 20.0  # overhead per Batch task (issue 5)
PYTHON_TARGET_MS = 5.0  # "a few milliseconds" per Python task (issue 16)


def median_ms(command: list[str], samples: int, **kwargs: object) -> float:
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def chain(n: int, kind: str, module_dir: Path) -> model.Workflow | Path:
    if kind == "batch":
        tasks = [model.Task(name=f"t{i}", job=model.BatchJob(image="alpine:3", command=("true",)),
                            after=(f"t{i - 1}",) if i else ()) for i in range(n)]
        return model.Workflow(name=f"bench-batch-chain-{n}", tasks=tuple(tasks))
    return write_python_workflow(module_dir / "chain_wf.py", f"bench-python-chain-{n}",
                                 [[f"t{i}"] for i in range(n)])


def layered_names(n: int, layers: int = 20) -> list[list[str]]:
    width = max(n // layers, 1)
    return [[f"t{layer}_{j}" for j in range(width)] for layer in range(n // width)]


def write_python_workflow(path: Path, name: str, layers: list[list[str]]) -> Path:
    lines = ["from orchestrator import Workflow", "", f"wf = Workflow({name!r})", ""]
    previous: list[str] = []
    for layer in layers:
        for task in layer:
            lines += [f"@wf.task(timeout='1m', after=[{', '.join(previous)}])",
                      f"def {task}(event, context):", "    return {'ok': True}", ""]
        previous = layer
    path.write_text("\n".join(lines))
    return path


def write_batch_workflow(path: Path, name: str, layers: list[list[str]]) -> Path:
    lines = ["from orchestrator import Workflow", "", f"wf = Workflow({name!r})", "previous = []"]
    for layer in layers:
        lines.append(f"current = [wf.batch(n, image='alpine:3', command=['true'], after=previous) for n in {layer!r}]")
        lines.append("previous = current")
    path.write_text("\n".join(lines) + "\n")
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def in_process(wf: model.Workflow | Path, cwd: Path) -> tuple[float, int, float, float]:
    """Wall seconds, history events, and CPU seconds of the runner and of its reaped children.

    CPU time is what other work on a shared machine does not inflate (much): the children's
    share is the job processes, and the Lambda zygotes with every worker they forked (each
    zygote reaps its workers and is reaped when the run's services close).
    """
    from orchestrator.spec import load

    workflow = load(str(wf)) if isinstance(wf, Path) else wf
    plan = compile_plan(workflow, str(cwd))
    home = tempfile.mkdtemp(prefix="orchestrator-bench-")
    try:
        t0, cpu0, children0 = time.perf_counter(), time.process_time(), _children_cpu()
        result = run_plan(plan, {}, home=home, notice=lambda text: None)
        wall = time.perf_counter() - t0
        cpu, children = time.process_time() - cpu0, _children_cpu() - children0
        if result.status != "SUCCEEDED":
            raise SystemExit(f"{workflow.name}: the run ended {result.status}: {result.error} {result.cause}")
        return wall, len(result.history), cpu, children
    finally:
        shutil.rmtree(home, ignore_errors=True)


def cli_run_ms(spec: Path, cwd: Path, runs: int) -> tuple[float, float]:
    """Median wall and median CPU milliseconds of ``orchestrator run SPEC`` from the command line.

    The CPU is the command's and that of every process it reaped (Lambda zygotes and their
    workers, job processes), which other work on a shared machine inflates far less than wall time.
    """
    # Bytecode cached as on a user's machine: with PYTHONDONTWRITEBYTECODE set (some sandboxes set
    # it) every run would compile the package's sources again, about half the fixed cost.
    env = user_env()
    env.update({"PYTHONPATH": str(ROOT), "ORCHESTRATOR_HOME": str(cwd / ".orchestrator")})
    return command_ms([sys.executable, "-m", "orchestrator.cli", "run", str(spec.name)], cwd, env, runs)


def user_env() -> dict[str, str]:
    """This environment without PYTHONDONTWRITEBYTECODE: bytecode cached as on a user's machine."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def command_ms(command: list[str], cwd: Path, env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall and median CPU milliseconds (the command's and its reaped children's) of ``runs``
    runs of ``command``, its output discarded."""
    walls, cpus = [], []
    for _ in range(runs):
        t0, cpu0 = time.perf_counter(), _children_cpu()
        subprocess.run(command, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((_children_cpu() - cpu0) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def machine() -> str:
    """The machine line every local-run figure is printed under."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}, load average {load:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="command-line runs per figure (median)")
    args = parser.parse_args()
    n = args.tasks
    work = Path(tempfile.mkdtemp(prefix="orchestrator-bench-wf-"))
    sys.path.insert(0, str(work))
    os.chdir(work)  # Python tasks import their workflow module from the project directory
    try:
        start = median_ms([shutil.which("true") or "true"], 200)
        python_start = median_ms([sys.executable, "-c", "pass"], 10)
        print(f"{machine()} (other work on the machine inflates every figure below)")
        print(f"process start (fork/exec/wait of `true` from Python, 200 samples): median {start:.2f} ms; "
              f"interpreter start (`python -c pass`, 10 samples): median {python_start:.1f} ms")
        ok = True
        for kind in ("batch", "python"):
            wall, events, cpu, children = in_process(chain(n, kind, work), work)
            per_task = wall * 1000 / n
            overhead = per_task - start if kind == "batch" else per_task
            target = TARGET_MS if kind == "batch" else PYTHON_TARGET_MS
            ok &= overhead <= target
            what = "no-op Batch jobs (`true` as a process)" if kind == "batch" else "no-op Python tasks (local Lambda)"
            print(f"chain of {n} {what}: {wall:.2f} s wall ({events} history events), {per_task:.2f} ms per task "
                  f"→ overhead {overhead:.2f} ms per task (target ≤ {target:.0f} ms: {'met' if overhead <= target else 'MISSED'}); "
                  f"CPU {cpu * 1000 / n:.2f} ms per task in the runner + {children * 1000 / n:.2f} ms in its "
                  f"{'job processes' if kind == 'batch' else 'Lambda zygote and workers'}")
        one = write_python_workflow(work / "one_wf.py", "bench-one", [["hello"]])
        ms, cpu_ms = cli_run_ms(one, work, args.runs)
        print(f"fixed cost: `orchestrator run` of a one-task workflow from the command line: "
              f"median {ms:.0f} ms of {args.runs} (of which interpreter start {python_start:.0f} ms); "
              f"CPU {cpu_ms:.0f} ms with its zygote")
        layers = layered_names(n)
        for kind, writer in (("batch", write_batch_workflow), ("python", write_python_workflow)):
            spec = writer(work / f"layered_{kind}.py", f"bench-layered-{kind}", layers)
            ms, cpu_ms = cli_run_ms(spec, work, args.runs)
            print(f"end to end: `orchestrator run` of a {len(layers)}-layer DAG of {n} no-op {kind} tasks: "
                  f"median {ms / 1000:.2f} s of {args.runs} ({ms / n:.1f} ms per task); "
                  f"CPU {cpu_ms / 1000:.2f} s ({cpu_ms / n:.1f} ms per task) with its processes")
        print(f"reproduce: python bench/local_run.py --tasks {n} --runs {args.runs}")
        return 0 if ok else 1
    finally:
        os.chdir(ROOT)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
