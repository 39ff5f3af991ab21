"""Speed of the embedded engine against moto's Step Functions interpreter.

Three workloads, each run on both engines with the same definition and input:
  chain     500 Pass states in a row
  parallel  a Parallel state of 50 branches x 10 Pass states
  map       a Map over 200 items with a Choice inside each iteration

Reproduce:  python bench/engine.py [--repeat N]
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestrator.engine import execute  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/bench"


def chain(n: int = 500) -> dict[str, Any]:
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(n - 1)}
    states[f"S{n - 1}"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


def parallel(branches: int = 50, depth: int = 10) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": f"B{b}S0", "States": {
            f"B{b}S{i}": {"Type": "Pass", **({"Next": f"B{b}S{i + 1}"} if i < depth - 1 else {"End": True})}
            for i in range(depth)}}
        for b in range(branches)]}}}


def mapped() -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": True,
                                             "ItemProcessor": {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericGreaterThan": 100, "Next": "Big"}],
              "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "End": True},
        "Small": {"Type": "Pass", "Result": "small", "End": True}}}}}}


WORKLOADS: list[tuple[str, dict[str, Any], Any]] = [
    ("chain of 500 Pass", chain(), {"x": 1}),
    ("Parallel 50 x 10 Pass", parallel(), {"x": 1}),
    ("Map 200 items + Choice", mapped(), {"items": [{"v": i} for i in range(200)]}),
]


def time_engine(definition: dict[str, Any], value: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    run = execute(definition, value)
    elapsed = time.perf_counter() - t
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    return elapsed, run.output


def moto_runner() -> Callable[[dict[str, Any], Any], tuple[float, Any]]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("stepfunctions", region_name="us-east-1")

    def run(definition: dict[str, Any], value: Any) -> tuple[float, Any]:
        # A fresh mock per run: moto 5 cannot start a second execution in one backend.
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            arn = client.create_state_machine(name=f"bench{time.perf_counter_ns()}", roleArn=ROLE,
                                              definition=json.dumps(definition))["stateMachineArn"]
            t = time.perf_counter()
            execution = client.start_execution(stateMachineArn=arn, input=json.dumps(value))["executionArn"]
            while True:
                described = client.describe_execution(executionArn=execution)
                if described["status"] != "RUNNING":
                    break
                time.sleep(0.001)
            elapsed = time.perf_counter() - t
            assert described["status"] == "SUCCEEDED", described
            return elapsed, json.loads(described["output"])
    return run


def main(argv: list[str]) -> int:
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    import moto
    print(f"moto {moto.__version__}; best of {repeat} runs each")
    print(f"reproduce: python bench/engine.py --repeat {repeat}\n")
    moto_run = moto_runner()
    print(f"{'workload':26s} {'engine s':>10s} {'moto s':>10s} {'speed-up':>9s}")
    speedups = []
    for name, definition, value in WORKLOADS:
        ours = [time_engine(definition, value) for _ in range(repeat)]
        theirs = [moto_run(definition, value) for _ in range(repeat)]
        assert ours[0][1] == theirs[0][1], f"{name}: outputs differ"
        a, b = min(t for t, _ in ours), min(t for t, _ in theirs)
        speedups.append(b / a)
        print(f"{name:26s} {a:10.4f} {b:10.4f} {b / a:8.1f}x")
    print(f"\ngeometric mean speed-up: {statistics.geometric_mean(speedups):.1f}x (outputs identical)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
