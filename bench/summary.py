"""What ``orchestrator run`` does after the run: the summary of a stored run of N no-op Batch tasks.

    python bench/summary.py                     # 200 and 1,000 tasks
    python bench/summary.py --tasks 5000 --repeat 3

For each N it runs a 20-layer DAG of N no-op Batch tasks in process (a fresh store), then
times, in CPU (median of ``--repeat``), with stdout to /dev/null and on a forced 256-color
terminal:

* **summary**: ``commands._summary`` as ``orchestrator run`` calls it (the rows read from the
  run's store, the table, the closing lines);
* **table, fast layout** and **table, rich's Table**: printing the same rows as ``TaskTable``
  and as the rich ``Table`` it falls back to (``TaskTable.rich_table``), which the summary
  printed for every run before;
* **history / logs read back**: what ``RunResult.history`` and ``.logs`` cost when asked for
  (the command-line run never asks).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from local_run import layered_names  # noqa: E402
from rich.console import Console  # noqa: E402

from orchestrator import model  # noqa: E402
from orchestrator.local import commands  # noqa: E402
from orchestrator.local.runs import RunResult, compile_plan, run_plan  # noqa: E402
from orchestrator.local.task_table import TaskTable  # noqa: E402


def layered(n: int) -> model.Workflow:
    """The 20-layer DAG of ``bench/local_run.py`` (each task after every task of the layer before)."""
    tasks: list[model.Task] = []
    previous: tuple[str, ...] = ()
    for names in layered_names(n):
        tasks += [model.Task(name=name, job=model.BatchJob(image="alpine:3", command=("true",)), after=previous)
                  for name in names]
        previous = tuple(names)
    return model.Workflow(name=f"bench-summary-{n}", tasks=tuple(tasks))


def cpu_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        action()
        times.append((time.process_time() - started) * 1000)
    return statistics.median(times)


def measure(n: int, work: Path, repeat: int, devnull: TextIO) -> None:
    result = run_plan(compile_plan(layered(n), str(work)), {}, home=work / f"home-{n}", notice=lambda text: None)
    if result.status != "SUCCEEDED":
        raise SystemExit(f"the {n}-task run ended {result.status}: {result.error} {result.cause}")
    store = result._store
    assert store is not None
    rows = commands.summary_rows(store, result.execution_arn)

    def table() -> TaskTable:
        built = TaskTable("tasks", ("task", "service", "status", "attempt", "duration"))
        for cells in rows:
            built.add_row(*cells)
        return built

    for terminal in (False, True):
        def console(terminal: bool = terminal) -> Console:
            return Console(file=devnull, highlight=False, force_terminal=terminal,
                           color_system="256" if terminal else None, width=80)

        summary = cpu_ms(lambda: commands._summary(console(), result, store), repeat)
        fast = cpu_ms(lambda: console().print(table()), repeat)
        rich = cpu_ms(lambda: console().print(table().rich_table()), repeat)
        print(f"{n} tasks ({len(rows)} rows), {'terminal' if terminal else 'stdout to /dev/null'}: "
              f"summary {summary:.1f} ms CPU; table, fast layout {fast:.1f} ms, rich's Table {rich:.1f} ms")

    def fresh() -> RunResult:
        return RunResult(execution_arn=result.execution_arn, name=result.name, status=result.status,
                         output=None, error=None, cause=None, home=result.home, _store=store)

    history = cpu_ms(lambda: fresh().history, repeat)
    logs = cpu_ms(lambda: fresh().logs, repeat)
    print(f"{n} tasks: history read back {history:.1f} ms CPU ({len(result.history)} events), "
          f"logs read back {logs:.1f} ms")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, action="append", help="tasks of the DAG (repeatable; 200 and 1000)")
    parser.add_argument("--repeat", type=int, default=7, help="timings per figure (median)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="orchestrator-bench-summary-"))
    try:
        with open(os.devnull, "w") as devnull:
            for n in args.tasks or [200, 1000]:
                measure(n, work, args.repeat, devnull)
        print(f"reproduce: python bench/summary.py {' '.join(f'--tasks {n}' for n in args.tasks or [])}".rstrip())
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
