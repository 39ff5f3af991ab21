"""This project's local runs side by side with the fastest peer, on this machine.

    python bench/peers.py                 # 200 tasks, median of 5 command-line runs each
    python bench/peers.py --tasks 1000 --runs 3

The DAG is the one ``bench/local_run.py`` runs end to end: N no-op tasks in 20 layers, each task
after every task of the layer before. Every figure is a whole command from the command line
(interpreter start included), median of ``--runs``, with the median CPU time of the command and
its children:

* **this project**: ``orchestrator run`` of the DAG as Batch jobs (``true`` as a process each)
  and as Python tasks (a local Lambda function each, with its own worker process);
* **Luigi** (``pip install luigi``; the bench extra installs it): the same DAG as ``luigi.Task``
  classes run by ``luigi.build(..., local_scheduler=True)``, its in-process worker. Each task's
  ``run`` does nothing and its completion is a set in memory, which spares Luigi the output files
  its tasks normally write: the cheapest run Luigi can make of this DAG.

Luigi runs every task as a function call in its worker's process. Here a Batch job is a process
of its own, and a Python task runs in a process of its own per function, as on AWS Lambda (a
crash, a timeout or ``os._exit`` ends that invocation only). The figure that matters to a user is
the wall time of the command, printed first.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_run import (  # noqa: E402
    ROOT,
    cli_run_ms,
    command_ms,
    layered_names,
    machine,
    median_ms,
    user_env,
    write_batch_workflow,
    write_python_workflow,
)

LUIGI_DAG = '''\
import sys

import luigi

LAYERS = {layers}
WIDTH = {width}
DONE = set()


class Step(luigi.Task):
    layer = luigi.IntParameter()
    index = luigi.IntParameter()

    def requires(self):
        if self.layer == 0:
            return []
        return [Step(layer=self.layer - 1, index=k) for k in range(WIDTH)]

    def complete(self):
        return (self.layer, self.index) in DONE

    def run(self):
        DONE.add((self.layer, self.index))


class All(luigi.WrapperTask):
    def requires(self):
        return [Step(layer=LAYERS - 1, index=k) for k in range(WIDTH)]


if __name__ == "__main__":
    ok = luigi.build([All()], local_scheduler=True, log_level="WARNING")
    if not ok or len(DONE) != LAYERS * WIDTH:
        sys.exit(f"luigi ran {{len(DONE)}} of {{LAYERS * WIDTH}} tasks")
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5, help="command-line runs per figure (median)")
    args = parser.parse_args()
    if args.tasks < 20 or args.runs < 1:
        parser.error("--tasks must be at least 20 (20 layers) and --runs at least 1")
    layers = layered_names(args.tasks)
    n = sum(len(layer) for layer in layers)
    work = Path(tempfile.mkdtemp(prefix="orchestrator-bench-peers-"))
    try:
        python_start = median_ms([sys.executable, "-c", "pass"], 10)
        print(f"{machine()}; interpreter start {python_start:.0f} ms")
        print(f"DAG: {len(layers)} layers of {len(layers[0])} no-op tasks ({n} tasks), each after every task "
              f"of the layer before; command-line wall and CPU, median of {args.runs}")
        rows: list[tuple[str, float, float]] = []
        for kind, writer in (("batch", write_batch_workflow), ("python", write_python_workflow)):
            spec = writer(work / f"layered_{kind}.py", f"peers-layered-{kind}", layers)
            cli_run_ms(spec, work, 1)  # its plan kept, as for a workflow run again unchanged
            wall, cpu = cli_run_ms(spec, work, args.runs)
            what = "Batch jobs as processes" if kind == "batch" else "Python tasks, a worker process per function"
            rows.append((f"sfn-orchestrator `orchestrator run`, {what}", wall, cpu))
        if importlib.util.find_spec("luigi") is None:
            print("Luigi: not installed, not measured (pip install luigi, or pip install -e '.[bench]')")
        else:
            import luigi

            script = work / "luigi_dag.py"
            script.write_text(LUIGI_DAG.format(layers=len(layers), width=len(layers[0])))
            luigi_command = [sys.executable, str(script)]
            command_ms(luigi_command, work, user_env(), 1)  # warmed up as the runs above
            wall, cpu = command_ms(luigi_command, work, user_env(), args.runs)
            rows.append((f"Luigi {luigi.__version__} `luigi.build(local_scheduler=True)`, in-process worker",
                         wall, cpu))
        fastest = min(wall for _, wall, _ in rows)
        for label, wall, cpu in rows:
            print(f"  {wall / 1000:6.2f} s wall ({wall / fastest:4.2f}x the fastest)  CPU {cpu / 1000:5.2f} s  {label}")
        print(f"reproduce: python bench/peers.py --tasks {args.tasks} --runs {args.runs}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
