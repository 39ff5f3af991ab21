"""Benchmark compiling: DAG -> series-parallel quality, the compiler's passes, and the command a
user runs (``orchestrator compile SPEC --out DIR``) end to end.

    python bench/compile.py                 # print the tables
    python bench/compile.py --write         # also replace the compile section of bench/README.md
    python bench/compile.py --only montage  # only DAGs whose name contains "montage"
    python bench/compile.py --no-cli        # skip the command-line runs

For each DAG (every task a Batch job with its expected duration):

* quality: ratio = simulated makespan / critical path of ``decompose`` (1.0 is perfect), the same
  for the level-by-level baseline, and decompose seconds;
* the compiled machines: machines, tasks per machine, states, transitions per successful run,
  worst-case history events of one execution, deployed KiB (compact JSON, all machines) and the
  largest machine's share of the 1 MB quota as it is checked (``quotas.deployed_bytes``);
* time: ``decompose`` and ``compile_workflow`` from the model (wall s and CPU s; CPU includes the
  child the search forks for its reversed half on a big DAG), and the command line end to end on a JSON
  spec of the same workflow, in a fresh interpreter (wall s and CPU s: load, validate, compile,
  write). The files the command writes are checked to be byte for byte what ``compile_workflow``
  gives, so the figures are of the same work;
* the CPU seconds of each pass of ``orchestrator.compiler.PASSES`` and of the steps inside them.

DAGs: the nine wfcommons recipes at about 100, 1,000 and 10,000 tasks (cached under bench/dags/ by
bench/make_dags.py; Seismology and BWA have no 100-task version, their base graphs are larger) and
two families of random layered DAGs of 50..10,000 tasks with fixed seeds (bench/dagsource.py documents
their parameters): "random" (20% of dependencies reach back past the previous layer) and
"random-adjacent" (the classic layer-by-layer generator: dependencies on the previous layer only).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from dagsource import BenchDag, random_dags, wfcommons_dags  # noqa: E402

import orchestrator.compiler as compiler  # noqa: E402
from orchestrator import limits, model  # noqa: E402
from orchestrator.compiler import asl, emit, quotas, render  # noqa: E402
from orchestrator.compiler.decompose import critical_path, decompose, level_barrier  # noqa: E402
from orchestrator.compiler.sp import makespan, violations  # noqa: E402
from orchestrator.spec import to_dict  # noqa: E402

BEGIN = "<!-- bench/compile.py: begin -->"
END = "<!-- bench/compile.py: end -->"

# Steps timed inside the passes: (owner, attribute, step). Outermost calls only (shrink recurses).
STEPS: tuple[tuple[Any, str, str], ...] = (
    (quotas.Planner, "shrink", "plan"),
    (render, "render_machine", "render"),
    (asl.StateMachine, "render", "dicts"),
    (emit.Writer, "render", "compact"),  # the dicts and the compact text, in one walk
    (quotas, "measure", "measure"),
    (emit.Writer, "readable", "text"),
)
STEP_NAMES = ("plan", "render", "dicts", "compact", "measure", "text")


class Timer:
    """CPU seconds per pass and per step of one ``compile_workflow`` call."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        self._inside: set[str] = set()
        self._installed = False
        self.passes: list[str] = []

    def _wrap(self, original: Callable[..., Any], name: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if name in self._inside:
                return original(*args, **kwargs)
            self._inside.add(name)
            started = cpu_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + cpu_time() - started
                self._inside.discard(name)

        return timed

    def install(self) -> None:
        if self._installed:
            return
        self._installed = True
        self.passes = [p.__name__.lstrip("_") for p in compiler.PASSES]
        compiler.PASSES = tuple(self._wrap(p, n) for p, n in zip(compiler.PASSES, self.passes, strict=True))
        for owner, attribute, step in STEPS:
            setattr(owner, attribute, self._wrap(getattr(owner, attribute), step))


TIMER = Timer()


def workflow(dag: BenchDag) -> model.Workflow:
    job = model.BatchJob(image="bench:1", command=("run",))
    tasks = tuple(
        model.Task(name=n, job=job, after=tuple(dag.after.get(n, ())), expected_duration=dag.weights[n])
        for n in dag.tasks
    )
    return model.Workflow(name=dag.name, tasks=tasks)


def run_cli(wf: model.Workflow, texts: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``orchestrator compile SPEC --out DIR`` on ``wf`` as a JSON spec,
    in a fresh interpreter; the files it writes must be ``texts`` exactly."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / f"{wf.name}.json"
        spec.write_text(json.dumps(to_dict(wf), indent=2), encoding="utf-8")
        out = Path(tmp) / "out"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "compile", str(spec), "--out", str(out)],
            env=env, capture_output=True, text=True, check=False,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise AssertionError(f"{wf.name}: orchestrator compile failed:\n{done.stderr[-2000:]}")
        written = {p.name.removesuffix(".asl.json"): p.read_text(encoding="utf-8") for p in out.glob("*.asl.json")}
        if written != texts:
            raise AssertionError(f"{wf.name}: the command wrote other files than compile_workflow gives")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def cpu_time() -> float:
    """CPU seconds of this process and of its children waited for: the decompose search may run
    its reversed half in a forked child on a second core (``frames.Beside``), whose CPU counts."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure(dag: BenchDag, *, cli: bool) -> dict[str, Any]:
    cp = critical_path(dag.tasks, dag.after, dag.weights)
    started, cpu = time.perf_counter(), cpu_time()
    node = decompose(dag.tasks, dag.after, dag.weights)
    seconds, cpu_seconds = time.perf_counter() - started, cpu_time() - cpu
    problems = violations(node, dag.tasks, dag.after)
    if problems:
        raise AssertionError(f"{dag.name}: invalid structure: {problems[:3]}")
    barrier = level_barrier(dag.tasks, dag.after, dag.weights)
    row: dict[str, Any] = {
        "name": dag.name,
        "family": dag.family,
        "tasks": len(dag.tasks),
        "ratio": makespan(node, dag.weights) / cp if cp else 1.0,
        "barrier": makespan(barrier, dag.weights) / cp if cp else 1.0,
        "seconds": seconds,
        "cpu": cpu_seconds,
    }
    wf = workflow(dag)
    TIMER.spent.clear()
    gc.collect()
    started, cpu = time.perf_counter(), cpu_time()
    result = compiler.compile_workflow(wf)
    row["compile_wall"], row["compile_cpu"] = time.perf_counter() - started, cpu_time() - cpu
    row["passes"] = dict(TIMER.spent)
    report = result.report
    row["machines"] = len(result.definitions)
    row["states"] = report.states
    row["transitions"] = report.transitions
    row["events"] = report.events
    row["kib"] = report.kib
    row["quota_share"] = max(m.deployed_bytes for m in report.machines) / limits.MAX_DEFINITION_BYTES
    if cli:
        row["cli_wall"], row["cli_cpu"] = run_cli(wf, result.texts)
    return row


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    return "n/a" if value is None else format(value, fmt)


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| DAG | tasks | ratio | level-barrier ratio | decompose s | decompose CPU s | machines | tasks/machine "
        "| states | transitions/run | history events | deployed KiB | largest machine, share of 1 MB "
        "| compile s | compile CPU s | CLI s | CLI CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['name']} | {r['tasks']} | {r['ratio']:.4f} | {r['barrier']:.4f} | {r['seconds']:.3f} "
            f"| {r['cpu']:.3f} | {r['machines']} | {r['tasks'] / r['machines']:.0f} | {r['states']} "
            f"| {r['transitions']} | {r['events']} | {r['kib']:.1f} | {r['quota_share']:.0%} "
            f"| {r['compile_wall']:.3f} | {r['compile_cpu']:.3f} "
            f"| {_cell(r, 'cli_wall', '.2f')} | {_cell(r, 'cli_cpu', '.2f')} |"
        )
    return out


def pass_table(rows: list[dict[str, Any]]) -> list[str]:
    passes = TIMER.passes
    out = [
        "| DAG | " + " | ".join(passes) + " | of which: " + " | ".join(STEP_NAMES) + " |",
        "|---|" + "---:|" * (len(passes) + len(STEP_NAMES)),
    ]
    for r in rows:
        spent = r["passes"]
        out.append(
            f"| {r['name']} | "
            + " | ".join(f"{spent.get(p, 0.0):.3f}" for p in passes)
            + " | "
            + " | ".join(f"{spent.get(s, 0.0):.3f}" for s in STEP_NAMES)
            + " |"
        )
    return out


def summary(rows: list[dict[str, Any]]) -> list[str]:
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_family[r["family"]].append(r)
    groups = [(f, by_family[f]) for f in sorted(by_family)]
    real = [r for r in rows if not r["family"].startswith("random")]
    groups += [("all wfcommons", real), ("everything", rows)]
    out = [
        "| family | DAGs | mean ratio | worst ratio | mean level-barrier | worst level-barrier "
        "| slowest decompose CPU s | slowest compile CPU s | slowest CLI s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, group in groups:
        if not group:
            continue
        ratios = [r["ratio"] for r in group]
        barriers = [r["barrier"] for r in group]
        cli = [r["cli_wall"] for r in group if "cli_wall" in r]
        out.append(
            f"| {name} | {len(group)} | {statistics.mean(ratios):.4f} | {max(ratios):.4f} "
            f"| {statistics.mean(barriers):.4f} | {max(barriers):.4f} | {max(r['cpu'] for r in group):.3f} "
            f"| {max(r['compile_cpu'] for r in group):.3f} | {f'{max(cli):.2f}' if cli else 'n/a'} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="", help="only DAGs whose name contains this")
    parser.add_argument("--write", action="store_true", help="replace the compile section of bench/README.md")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line runs")
    args = parser.parse_args(argv)
    TIMER.install()
    dags = [d for d in wfcommons_dags() + random_dags() if args.only in d.name]
    lines = [
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()} ({platform.python_implementation()}),"
        f" {platform.system()} {platform.machine()}, load average {os.getloadavg()[0]:.1f} at start"
        " (wall times grow with other work on the machine; CPU times much less)",
        "reproduce: `python bench/compile.py --write` (DAGs cached in bench/dags/; regenerate them with "
        "`pip install -e '.[bench]' && python bench/make_dags.py`)",
        "",
    ]
    print("\n".join(lines), flush=True)
    rows = []
    for dag in dags:
        row = measure(dag, cli=not args.no_cli)
        rows.append(row)
        print(
            f"  {dag.name}: ratio {row['ratio']:.4f}, compile {row['compile_cpu']:.2f} s CPU, "
            f"CLI {_cell(row, 'cli_wall', '.2f')} s",
            file=sys.stderr,
            flush=True,
        )
    load_after = f"load average {os.getloadavg()[0]:.1f} at the end"
    body = table(rows) + ["", *summary(rows), "", "CPU seconds per pass of `compile_workflow`:", "",
                          *pass_table(rows), "", load_after]
    print("\n".join(body), flush=True)
    if args.write:
        readme = HERE / "README.md"
        section = "\n".join([BEGIN, "```", *lines[:2], "```", "", *body, END])
        text = readme.read_text()
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        readme.write_text(head + section + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
