"""The classic nightly pair, scheduled: load the day's orders, optimise the database, check the
data is fresh, then write the weekly sales report.

On AWS the Batch jobs run in the ``sales-jobs`` image (this repository's code in a Python image);
locally the same commands run as processes on a SQLite database under ``data/``::

    orchestrator run state_machines/nightly_sales.py
"""

from __future__ import annotations

from typing import Any

from lambdas import checks
from orchestrator import Workflow

ENV = {"SALES_DB": "data/sales.db"}

wf = Workflow(
    "nightly-sales",
    description="Load orders, optimise the sales database, check freshness, write the weekly report",
    schedule={"expression": "cron(10 2 * * ? *)", "timezone": "Europe/Berlin"},
    notify=["ops@example.com"],
    timeout="4h",
)

load = wf.batch(
    "load-sales",
    image="sales-jobs:1",
    build="state_machines",  # the Dockerfile beside this file
    command=["python3", "-m", "state_machines.sales_jobs", "load", "--days", "14"],
    environment=ENV,
    vcpus=0.5,
    memory=1024,
    timeout="30m",
    retries={"attempts": 2, "interval": "30s", "backoff_rate": 2.0},
    expected_duration="5m",
)

optimize = wf.batch(
    "optimize-db",
    image="sales-jobs:1",
    build="state_machines",  # the Dockerfile beside this file
    command=["python3", "-m", "state_machines.sales_jobs", "optimize"],
    environment=ENV,
    vcpus=1,
    memory=2048,
    timeout="2h",
    retries=3,
    expected_duration="20m",
    after=[load],
)


@wf.task(timeout="5m", after=[optimize], expected_duration="10s", environment=ENV)
def check_freshness(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A short Python task: runs on Lambda on AWS, in a local worker here."""
    return checks.freshness(event, context)


report = wf.batch(
    "weekly-report",
    image="sales-jobs:1",
    build="state_machines",  # the Dockerfile beside this file
    command=["python3", "-m", "state_machines.sales_jobs", "report", "--weekly", "--out", "reports"],
    environment=ENV,
    timeout="1h",
    retries=2,
    expected_duration="10m",
    after=[optimize, check_freshness],
)
