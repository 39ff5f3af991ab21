"""The local endpoint (`orchestrator serve`) against a moto server, doing the same work over HTTP.

Each server runs in its own process on 127.0.0.1; this process is the client. The workload is a
small Pass/Choice state machine; each execution is StartExecution, then DescribeExecution every
millisecond until the status is terminal. Printed per server: p50/p99 latency from StartExecution
to the terminal DescribeExecution with one client, then executions per second (and latency) with
several client threads at once. moto runs with ``execute_state_machine`` on
(its ASL interpreter actually runs the machine, as the local endpoint does).

Reproduce:  python bench/serve.py [--executions N] [--threads T]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/bench"
MACHINE = {
    "StartAt": "Route",
    "States": {
        "Route": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
                  "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "Next": "Done"},
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}
MOTO = """
import copy, sys, time
from moto.server import ThreadedMotoServer
from moto.stepfunctions.models import StateMachine

def _copy(self, memo):
    # moto 5.x deep-copies the state machine at StartExecution, its ``backend`` reference and its
    # past executions included (their worker threads' locks cannot be copied), so the second
    # execution fails with a 500. Sharing those instead of copying them only makes moto's
    # StartExecution cheaper; everything else is copied as moto does.
    new = self.__class__.__new__(self.__class__)
    memo[id(self)] = new
    for key, value in vars(self).items():
        shared = value if key == "backend" else list(value) if key == "executions" else None
        setattr(new, key, shared if shared is not None else copy.deepcopy(value, memo))
    return new

StateMachine.__deepcopy__ = _copy
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
time.sleep(10 ** 6)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(endpoint: str) -> Any:
    return boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=64))


def wait_ready(endpoint: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    sfn = client(endpoint)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sfn.list_state_machines()
            return
        except Exception:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server at {endpoint} did not start") from None
            time.sleep(0.05)


def one(sfn: Any, arn: str, n: int) -> float:
    started = time.perf_counter()
    # A name of our own: moto's interpreter backend does not make one up when it is left out.
    execution = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex,
                                    input=json.dumps({"n": n}))["executionArn"]
    while True:
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status != "RUNNING":
            if status != "SUCCEEDED":
                raise SystemExit(f"{execution} ended {status}")
            return time.perf_counter() - started
        time.sleep(0.001)


def measure(endpoint: str, executions: int, threads: int) -> dict[str, float]:
    sfn = client(endpoint)
    arn = sfn.create_state_machine(name=f"bench-{time.time_ns()}", definition=json.dumps(MACHINE),
                                   roleArn=ROLE)["stateMachineArn"]
    for i in range(10):  # warm-up: connection pools, first-call imports
        one(sfn, arn, i)
    per_thread = executions // threads
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        own = client(endpoint)
        times = [one(own, arn, i) for i in range(per_thread)]
        with lock:
            latencies.extend(times)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {"executions": len(latencies), "per_second": len(latencies) / wall,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=400)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    # Latency is measured with one client (an execution waits for nothing but itself), throughput
    # with --threads clients at once (queueing then adds to each one's latency, shown too).
    results: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ORCHESTRATOR_HOME": str(Path(work) / "home")}
        ours_port, moto_port = free_port(), free_port()
        ours = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "serve", "--port", str(ours_port)],
                                cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moto = subprocess.Popen([sys.executable, "-c", MOTO, str(moto_port)], cwd=work, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ours_url, moto_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{moto_port}"
            wait_ready(ours_url, ours)
            wait_ready(moto_url, moto)
            # moto's documented switch for running the definition (server mode: its config endpoint).
            urllib.request.urlopen(urllib.request.Request(
                f"{moto_url}/moto-api/config", data=json.dumps({"stepfunctions": {"execute_state_machine": True}})
                .encode(), headers={"Content-Type": "application/json"}, method="POST")).read()
            for name, url in (("orchestrator serve", ours_url), ("moto server", moto_url)):
                results[name] = (measure(url, args.executions // 2, 1),
                                 measure(url, args.executions, args.threads))
        finally:
            for proc in (ours, moto):
                proc.terminate()
                proc.wait(30)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"workload: Pass/Choice machine (4 states); latency = StartExecution to terminal DescribeExecution "
          f"(polled every 1 ms); {args.executions // 2} executions from 1 client, then {args.executions} from "
          f"{args.threads} clients at once")
    print(f"{'server':<20} {'1 client: p50 ms':>17} {'p99 ms':>8} {args.threads:>3} clients: {'executions/s':>12} "
          f"{'p50 ms':>8} {'p99 ms':>8}")
    for name, (alone, loaded) in results.items():
        print(f"{name:<20} {alone['p50_ms']:>17.2f} {alone['p99_ms']:>8.2f} {'':>12}{loaded['per_second']:>12.1f} "
              f"{loaded['p50_ms']:>8.2f} {loaded['p99_ms']:>8.2f}")
    ratio = results["orchestrator serve"][1]["per_second"] / results["moto server"][1]["per_second"]
    print(f"throughput: {ratio:.1f}x moto's")
    print(f"command: python bench/serve.py --executions {args.executions} --threads {args.threads}")


if __name__ == "__main__":
    main()
