"""A fan-out/fan-in ETL of 14 tasks mixing Batch jobs and Lambda functions.

Four regional extracts run in parallel, each is cleaned by a Lambda once the rates are known, the
customer dimension needs only two of the extracts, and the load waits for all of it. That shape is
not series-parallel (build-dimensions depends on a subset of the extracts), which is where the
compiler's decomposition earns its keep::

    orchestrator run state_machines/etl_fanout.py
"""

from __future__ import annotations

from orchestrator import Workflow
from state_machines.etl_jobs import REGIONS

JOB = ["python3", "-m", "state_machines.etl_jobs"]
ENV = {"ETL_DIR": "data/etl"}

wf = Workflow(
    "etl-fanout",
    description="Regional order extracts, cleaned and loaded into a warehouse, checked and published",
    schedule="rate(6 hours)",
    notify={"email": ["data-team@example.com"], "webhook": "https://hooks.example.com/etl"},
    queues=[{"name": "etl", "priority": 10}, {"name": "bulk", "priority": 1}],
    timeout="3h",
)

rates = wf.lambda_("fetch-rates", handler="state_machines.etl_jobs:fetch_rates", environment=ENV,
                   timeout="1m", retries=2, expected_duration=2)

extracts = {
    region: wf.batch(f"extract-{region}", image="etl-jobs:1", build="state_machines", command=[*JOB, "extract", "--region", region],
                     environment=ENV, queue="etl", timeout="30m", retries=2, expected_duration="4m")
    for region in REGIONS
}

cleaned = [
    wf.lambda_(f"clean-{region}", handler="state_machines.etl_jobs:clean", environment={**ENV, "REGION": region},
               timeout="5m", retries=1, expected_duration=20, after=[extracts[region], rates])
    for region in REGIONS
]

dimensions = wf.batch("build-dimensions", image="etl-jobs:1", build="state_machines", command=[*JOB, "dimensions"], environment=ENV,
                      queue="etl", timeout="15m", expected_duration="2m",
                      after=[extracts["north"], extracts["south"]])

load = wf.batch("load-warehouse", image="etl-jobs:1", build="state_machines", command=[*JOB, "load"], environment=ENV, queue="etl",
                vcpus=2, memory=4096, timeout="1h", retries=1, expected_duration="8m",
                after=[*cleaned, dimensions])

archive = wf.batch("archive-raw", image="etl-jobs:1", build="state_machines", command=[*JOB, "archive"], environment=ENV, queue="bulk",
                   timeout="20m", expected_duration="3m", after=cleaned)

checks = wf.lambda_("quality-checks", handler="state_machines.etl_jobs:quality_checks", environment=ENV,
                    timeout="2m", expected_duration=5, after=[load])

wf.batch("publish-dashboard", image="etl-jobs:1", build="state_machines", command=[*JOB, "publish"], environment=ENV, queue="etl",
         timeout="10m", expected_duration="1m", after=[load, checks])
