"""``orchestrator cost PATH``: what one run of a workflow costs on AWS, and a month of its schedule.

From the workflow alone (no AWS call): Step Functions state transitions from the compiled machines
(``compile_workflow(...).report``); Batch on Fargate (Spot and on-demand) from each task's vCPUs,
memory and ``expected_duration``, with Fargate's one-minute minimum; Lambda GB-seconds and
requests; SNS (an alert is sent only when a run fails); the CloudWatch Logs a run writes. A task
without ``expected_duration`` cannot be priced and is named as left out; so is a Batch task on EC2
(priced by the instances its compute environment starts, not by the task).

Prices are US East (N. Virginia) list prices, before free tiers and savings plans, from the AWS
pricing pages as of :data:`PRICE_LIST_DATE`. Fargate Spot has no fixed price: AWS sets it from
supply and demand at "up to 70%" below on-demand, so the Spot column is the cheapest it can be.

    >>> from orchestrator import model
    >>> wf = model.Workflow(name="w", tasks=(model.Task(name="t", job=model.BatchJob(image="x"),
    ...                                                 expected_duration=600),))
    >>> round(estimate(wf).per_run_on_demand, 5)
    0.0083
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator import model
from orchestrator.compiler import CompileResult, compile_workflow
from orchestrator.compiler.quotas import PRICE_PER_TRANSITION

PRICE_REGION = "us-east-1"
PRICE_LIST_DATE = "2026-03"
SFN_PER_TRANSITION = PRICE_PER_TRANSITION  # Standard workflows: $0.025 per 1,000 state transitions
FARGATE_PER_VCPU_HOUR = 0.04048  # Linux/x86 on-demand
FARGATE_PER_GB_HOUR = 0.004445
FARGATE_SPOT_DISCOUNT = 0.70  # "up to 70%" off on-demand; the Spot price itself varies
FARGATE_MIN_SECONDS = 60  # Fargate bills per second with a one-minute minimum
LAMBDA_PER_GB_SECOND = 0.0000166667  # x86, first pricing tier
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
SNS_PER_PUBLISH = 0.50 / 1_000_000  # standard topic publishes (64 KB chunks)
SNS_PER_EMAIL = 2.00 / 100_000  # e-mail notifications
LOGS_PER_GB_INGESTED = 0.50  # CloudWatch Logs, standard class
# What a run writes to CloudWatch Logs besides the tasks' own output (which only the task knows):
# Lambda's START, END and REPORT lines per invocation. At the default ERROR level a successful
# execution writes no Step Functions log events.
LAMBDA_PLATFORM_LOG_BYTES = 400
# Months of the fire-time count: one calendar year from a fixed day, so the figure is the same
# on every machine and every day; a schedule firing more often than this is counted for part of
# the year and scaled.
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
MAX_FIRES_COUNTED = 100_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Estimate:
    """The figures of one workflow; ``per_run_*`` are USD per successful run."""

    workflow: str
    transitions: int
    batch_vcpu_seconds: float
    batch_gb_seconds: float
    lambda_gb_seconds: float
    lambda_requests: int
    log_bytes: int
    alert_emails: int
    runs_per_month: float | None  # None: no schedule
    left_out: tuple[tuple[str, str], ...]  # (task, why)

    @property
    def step_functions(self) -> float:
        return self.transitions * SFN_PER_TRANSITION

    @property
    def batch_on_demand(self) -> float:
        return (self.batch_vcpu_seconds * FARGATE_PER_VCPU_HOUR + self.batch_gb_seconds * FARGATE_PER_GB_HOUR) / 3600

    @property
    def batch_spot(self) -> float:
        return self.batch_on_demand * (1 - FARGATE_SPOT_DISCOUNT)

    @property
    def lambda_(self) -> float:
        return self.lambda_gb_seconds * LAMBDA_PER_GB_SECOND + self.lambda_requests * LAMBDA_PER_REQUEST

    @property
    def logs(self) -> float:
        return self.log_bytes / 1024**3 * LOGS_PER_GB_INGESTED

    @property
    def alert(self) -> float:
        """What one failed run's alert costs (nothing is sent when a run succeeds)."""
        return SNS_PER_PUBLISH + self.alert_emails * SNS_PER_EMAIL

    @property
    def per_run_spot(self) -> float:
        return self.step_functions + self.batch_spot + self.lambda_ + self.logs

    @property
    def per_run_on_demand(self) -> float:
        return self.step_functions + self.batch_on_demand + self.lambda_ + self.logs

    def line(self) -> str:
        """One line for ``compile --report``."""
        month = (f"; ${self.per_run_spot * self.runs_per_month:.4f}-{self.per_run_on_demand * self.runs_per_month:.4f}"
                 f" a month at {self.runs_per_month:.1f} runs" if self.runs_per_month is not None else "")
        left = f"; left out (no expected_duration or EC2): {', '.join(t for t, _ in self.left_out)}" \
            if self.left_out else ""
        return (f"cost: ${self.per_run_spot:.5f} a run on Fargate Spot, ${self.per_run_on_demand:.5f} on-demand"
                f"{month} ({PRICE_REGION} prices of {PRICE_LIST_DATE}){left}")

    def render(self) -> str:
        """The table ``orchestrator cost`` prints."""
        runs = self.runs_per_month
        rows = [f"{self.workflow}: cost estimate in USD, {PRICE_REGION} list prices of {PRICE_LIST_DATE} "
                "(before free tiers)",
                f"runs a month: {runs:.1f}" if runs is not None else "runs a month: no schedule (per run only)",
                f"{'':<58} {'per run':>10} {'per month':>10}"]

        def row(label: str, value: float) -> None:
            month = f"{value * runs:>10.4f}" if runs is not None else f"{'-':>10}"
            rows.append(f"{label:<58} {value:>10.5f} {month}")

        row(f"Step Functions ({self.transitions} transitions)", self.step_functions)
        usage = f"{self.batch_vcpu_seconds:,.0f} vCPU-s, {self.batch_gb_seconds:,.0f} GB-s"
        row(f"Batch on Fargate Spot ({usage})", self.batch_spot)
        row(f"Batch on Fargate on-demand ({usage})", self.batch_on_demand)
        row(f"Lambda ({self.lambda_gb_seconds:,.1f} GB-s, {self.lambda_requests} requests)", self.lambda_)
        row(f"CloudWatch Logs ({self.log_bytes:,} bytes of platform lines)", self.logs)
        row("SNS (only when a run fails: per failed run)", 0.0)
        rows[-1] = rows[-1][:58] + f" {self.alert:>10.6f} {'-':>10}"
        row("total with Batch on Fargate Spot", self.per_run_spot)
        row("total with Batch on Fargate on-demand", self.per_run_on_demand)
        for task, why in self.left_out:
            rows.append(f"left out: task '{task}' ({why})")
        rows.append("not included: the tasks' own log output, data transfer, NAT, storage, KMS ($1 a key a month)")
        return "\n".join(rows)


def runs_per_month(schedule: model.Schedule | None) -> float | None:
    """Average fires a month over one calendar year (None without a schedule). A local time that
    does not exist on the day clocks spring forward does not fire (EventBridge Scheduler's rule).

    >>> runs_per_month(model.Schedule(expression="cron(0 6 * * ? *)"))  # 365 days / 12
    30.416666666666668
    >>> runs_per_month(model.Schedule(expression="cron(10 2 * * ? *)", timezone="Europe/Berlin"))
    30.333333333333332
    """
    if schedule is None:
        return None
    from orchestrator.spec.cron import fire_times

    end = YEAR_START.replace(year=YEAR_START.year + 1)
    count = 0
    last = YEAR_START
    for when in itertools.islice(fire_times(schedule, YEAR_START, anchor=YEAR_START, inclusive=True),
                                 MAX_FIRES_COUNTED):
        if when >= end:
            return count / 12
        count += 1
        last = when
    if count == 0:
        return 0.0
    if count < MAX_FIRES_COUNTED:  # an at(...) schedule, or one that stops firing
        return count / 12
    covered = (last - YEAR_START).total_seconds() / (end - YEAR_START).total_seconds()
    return count / covered / 12


def estimate(wf: model.Workflow, compiled: CompileResult | None = None) -> Estimate:
    """The cost figures of ``wf`` (compiled here unless ``compiled`` is given)."""
    result = compiled or compile_workflow(wf)
    vcpu_seconds = gb_seconds = lambda_gb_seconds = 0.0
    requests = 0
    left_out: list[tuple[str, str]] = []
    for task in wf.tasks:
        if task.expected_duration is None:
            left_out.append((task.name, "no expected_duration"))
            continue
        job = task.job
        if task.runs_on == "batch":
            assert isinstance(job, model.BatchJob | model.PythonTask)
            if isinstance(job, model.BatchJob) and job.platform is not model.Platform.FARGATE:
                left_out.append((task.name, "runs on EC2, priced by its instances"))
                continue
            copies = job.array_size if isinstance(job, model.BatchJob) and job.array_size else 1
            seconds = max(task.expected_duration, FARGATE_MIN_SECONDS) * copies
            vcpu_seconds += job.vcpus * seconds
            gb_seconds += job.memory / 1024 * seconds
        else:
            lambda_gb_seconds += job.memory / 1024 * task.expected_duration
            requests += 1
    emails = len(wf.notify.email) if wf.notify is not None else 0
    return Estimate(
        workflow=wf.name,
        transitions=result.report.transitions,
        batch_vcpu_seconds=vcpu_seconds,
        batch_gb_seconds=gb_seconds,
        lambda_gb_seconds=lambda_gb_seconds,
        lambda_requests=requests,
        log_bytes=LAMBDA_PLATFORM_LOG_BYTES * sum(1 for t in wf.tasks if t.runs_on == "lambda"),
        alert_emails=emails,
        runs_per_month=runs_per_month(wf.schedule),
        left_out=tuple(left_out),
    )


def command(path: str) -> int:
    """``orchestrator cost PATH``: the estimate of every workflow of PATH."""
    from orchestrator.spec import load_all

    for i, wf in enumerate(load_all(path)):
        if i:
            print()
        print(estimate(wf).render())
    return 0
