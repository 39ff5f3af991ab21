"""Benchmark the DAG -> series-parallel decomposition (and the whole compile, when available).

    python bench/compile.py                 # print the table
    python bench/compile.py --write         # also replace the compile section of bench/README.md
    python bench/compile.py --only montage  # only DAGs whose name contains "montage"

For each DAG: tasks, ratio = simulated makespan / critical path of ``decompose`` (weights = expected
durations, 1.0 is perfect), the same for the level-by-level baseline, and decompose seconds. When
``orchestrator.compiler.compile_workflow`` exists it also compiles the DAG as a workflow of Batch
tasks and reports states, state transitions per successful run, worst-case history events per
execution, definition KiB (all machines) and compile seconds.

DAGs: the nine wfcommons recipes at about 100, 1,000 and 10,000 tasks (cached under bench/dags/ by
bench/make_dags.py; Seismology and BWA have no 100-task version, their base graphs are larger) and
two families of random layered DAGs of 50..10,000 tasks with fixed seeds (bench/dagsource.py documents
their parameters): "random" (20% of dependencies reach back past the previous layer) and
"random-adjacent" (the classic layer-by-layer generator: dependencies on the previous layer only).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dagsource import BenchDag, random_dags, wfcommons_dags  # noqa: E402

from orchestrator.compiler.decompose import critical_path, decompose, level_barrier  # noqa: E402
from orchestrator.compiler.sp import makespan, violations  # noqa: E402

BEGIN = "<!-- bench/compile.py: begin -->"
END = "<!-- bench/compile.py: end -->"


def _compiler() -> tuple[Any, str]:
    """``compile_workflow`` and "" when the whole compiler is importable, else None and why not."""
    try:
        from orchestrator.compiler import compile_workflow
    except ImportError as exc:
        return None, f"orchestrator.compiler.compile_workflow is not available ({exc})"
    return compile_workflow, ""


def _workflow(dag: BenchDag) -> Any:
    from orchestrator import model

    job = model.BatchJob(image="bench:1", command=("run",))
    tasks = tuple(
        model.Task(
            name=name,
            job=job,
            after=tuple(dag.after.get(name, ())),
            expected_duration=dag.weights[name],
        )
        for name in dag.tasks
    )
    return model.Workflow(name=dag.name, tasks=tasks)


def measure(dag: BenchDag, compile_workflow: Any) -> dict[str, Any]:
    cp = critical_path(dag.tasks, dag.after, dag.weights)
    started, cpu = time.perf_counter(), time.process_time()
    node = decompose(dag.tasks, dag.after, dag.weights)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
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
    if compile_workflow is not None:
        wf = _workflow(dag)
        started = time.perf_counter()
        try:
            result = compile_workflow(wf)
        except Exception as exc:  # report it in the table; the bench still covers the rest
            row["compile_error"] = f"{type(exc).__name__}: {str(exc)[:80]}"
        else:
            row["compile_seconds"] = time.perf_counter() - started
            report = result.report
            row["machines"] = len(result.definitions)
            row["states"] = report.states
            row["transitions"] = report.transitions
            row["events"] = getattr(report, "history_events", None) or report.events
            row["kib"] = report.kib
    return row


def _cell(row: dict[str, Any], key: str, fmt: str) -> str:
    if "compile_error" in row and key in (
        "machines",
        "states",
        "transitions",
        "events",
        "kib",
        "compile_seconds",
    ):
        return "error"
    value = row.get(key)
    return "n/a" if value is None else format(value, fmt)


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| DAG | tasks | ratio | level-barrier ratio | decompose s | decompose CPU s | machines | states "
        "| transitions/run | history events | definition KiB | compile s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['name']} | {r['tasks']} | {r['ratio']:.4f} | {r['barrier']:.4f} | {r['seconds']:.3f} "
            f"| {r['cpu']:.3f} "
            f"| {_cell(r, 'machines', 'd')} | {_cell(r, 'states', 'd')} | {_cell(r, 'transitions', 'd')} "
            f"| {_cell(r, 'events', 'd')} | {_cell(r, 'kib', '.1f')} | {_cell(r, 'compile_seconds', '.3f')} |"
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
        "| slowest decompose s | slowest decompose CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, group in groups:
        if not group:
            continue
        ratios = [r["ratio"] for r in group]
        barriers = [r["barrier"] for r in group]
        out.append(
            f"| {name} | {len(group)} | {statistics.mean(ratios):.4f} | {max(ratios):.4f} "
            f"| {statistics.mean(barriers):.4f} | {max(barriers):.4f} | {max(r['seconds'] for r in group):.3f} "
            f"| {max(r['cpu'] for r in group):.3f} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="", help="only DAGs whose name contains this")
    parser.add_argument("--write", action="store_true", help="replace the compile section of bench/README.md")
    parser.add_argument("--no-compile", action="store_true", help="skip compile_workflow even if available")
    args = parser.parse_args(argv)

    compile_workflow, why = (None, "skipped (--no-compile)") if args.no_compile else _compiler()
    dags = [d for d in wfcommons_dags() + random_dags() if args.only in d.name]
    lines = [
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()} ({platform.python_implementation()}),"
        f" {platform.system()} {platform.machine()}, load average {os.getloadavg()[0]:.1f} at start"
        " (wall times grow with other work on the machine; CPU times much less)",
        "reproduce: `python bench/compile.py --write` (DAGs cached in bench/dags/; regenerate them with "
        "`pip install -e '.[bench]' && python bench/make_dags.py`)",
        "",
    ]
    if compile_workflow is None:
        lines += [f"compile columns: n/a, {why}", ""]
    print("\n".join(lines), flush=True)
    rows = []
    for dag in dags:
        row = measure(dag, compile_workflow)
        rows.append(row)
        print(
            f"  {dag.name}: ratio {row['ratio']:.4f}, decompose {row['seconds']:.2f} s",
            file=sys.stderr,
            flush=True,
        )
        if "compile_error" in row:
            print(f"  {dag.name}: compile failed: {row['compile_error']}", file=sys.stderr, flush=True)
    body = table(rows) + ["", *summary(rows)]
    print("\n".join(body), flush=True)
    if args.write:
        readme = HERE / "README.md"
        section = "\n".join([BEGIN, "```", *lines[:2], "```", "", *lines[3:], *body, END])
        text = readme.read_text() if readme.exists() else "# Benchmarks\n"
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            text = head + section + tail
        else:
            text = (
                text.rstrip("\n")
                + "\n\n## Compile: DAG to series-parallel\n\n"
                + _INTRO
                + "\n"
                + section
                + "\n"
            )
        readme.write_text(text)
    return 0


_INTRO = """\
Step Functions can only chain states and run Parallel states that wait for all their branches, so
`orchestrator.compiler.decompose` turns each DAG into a series-parallel structure. **ratio** is
the structure's makespan (tasks take their expected durations; Series adds, Parallel takes the
max) divided by the critical path, the bound no schedule can beat: 1.0 means no task waits for
anything it does not depend on. **level-barrier** is the naive baseline (one Parallel per
topological level). The compile columns come from `orchestrator.compiler.compile_workflow` with
every task a Batch job; transitions are per successful run, history events are the worst case of
one execution, KiB sums all machines (parent and children).
"""


if __name__ == "__main__":
    sys.exit(main())
