"""One Lambda function per task that runs on Lambda (Lambda tasks, and Python tasks of 15 minutes
or less), with the project directory as its code.

    >>> lambda_handler("state_machines.etl_jobs:fetch_rates")
    'state_machines.etl_jobs.fetch_rates'
    >>> lambda_handler("jobs/checks.py:fresh")
    'jobs/checks.fresh'
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from orchestrator import model
from orchestrator.cdk import iam as policies
from orchestrator.cdk import keys, lint
from orchestrator.errors import Problem
from orchestrator.limits import LAMBDA_MAX_TIMEOUT, LAMBDA_MEMORY_MAX, LAMBDA_MEMORY_MIN

RUNTIME = lambda_.Runtime.PYTHON_3_12
# Never shipped to Lambda: local state, data, tests, tooling caches, CDK output, VCS.
DEFAULT_EXCLUDES = (
    ".git", ".github", ".orchestrator", ".venv", "venv", "node_modules", "data", "tests", "bench", "infra",
    "cdk.out", "**/__pycache__", "**/*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
    ".benchmarks", ".ci", "*.egg-info", "**/*.asl.json", "**/.DS_Store",
)


def lambda_tasks(wf: model.Workflow) -> list[model.Task]:
    return [t for t in wf.tasks if t.runs_on == "lambda"]


def handler_of(task: model.Task) -> str:
    job = task.job
    if isinstance(job, model.LambdaTask):
        return job.handler
    assert isinstance(job, model.PythonTask)
    return job.function


def lambda_handler(spec: str) -> str:
    """``module:function`` (or ``path/file.py:function``) in Lambda's ``module.function`` form."""
    if ":" not in spec:
        return spec
    module, _, function = spec.rpartition(":")
    return f"{module.removesuffix('.py')}.{function}"


def timeout_of(task: model.Task, wf: model.Workflow) -> int:
    """The function timeout: the task's, capped at Lambda's 900 s (the compiler's rule)."""
    timeout = task.timeout if task.timeout is not None else wf.defaults.timeout
    return LAMBDA_MAX_TIMEOUT if timeout is None else min(timeout, LAMBDA_MAX_TIMEOUT)


def problems(wf: model.Workflow) -> list[Problem]:
    found = []
    for task in lambda_tasks(wf):
        memory = task.job.memory
        if not LAMBDA_MEMORY_MIN <= memory <= LAMBDA_MEMORY_MAX:
            found.append(Problem(
                where=f"task '{task.name}' field 'memory'",
                message=f"Lambda memory must be between {LAMBDA_MEMORY_MIN} and {LAMBDA_MEMORY_MAX} MiB. Received {memory}.",
                fix=f"memory: {min(max(memory, LAMBDA_MEMORY_MIN), LAMBDA_MEMORY_MAX)}",
            ))
    return found


class Functions(Construct):
    """``functions[task]``: one function per Lambda-run task, each with its own role and log group."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: model.Workflow,
        code: lambda_.Code,
        log_retention: logs.RetentionDays,
        state_machine_names: Sequence[str],
        key: keys.WorkflowKey,
    ) -> None:
        super().__init__(scope, id)
        self.functions: dict[str, lambda_.Function] = {}
        roles: list[iam.IRole] = []
        for task in lambda_tasks(workflow):
            job = task.job
            assert isinstance(job, model.LambdaTask | model.PythonTask)
            scope_ = Construct(self, task.name)
            log_group = logs.LogGroup(scope_, "Logs", retention=log_retention, encryption_key=key.key)
            # Its own role, not AWSLambdaBasicExecutionRole: that managed policy allows writing to
            # every log group of the account; this one may write to its own group only.
            role = policies.service_role(scope_, "Role", "lambda.amazonaws.com", f"Runs task {task.name}")
            role.add_to_policy(policies.statement(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group.log_group_arn]))
            for grant in policies.task_statements(job.permissions):
                role.add_to_policy(grant)
            self.functions[task.name] = lambda_.Function(
                scope_,
                "Function",
                runtime=RUNTIME,
                handler=lambda_handler(handler_of(task)),
                code=code,
                memory_size=job.memory,
                timeout=cdk.Duration.seconds(timeout_of(task, workflow)),
                environment={**job.environment, "ORCHESTRATOR_WORKFLOW": workflow.name, "ORCHESTRATOR_TASK": task.name},
                role=role,
                log_group=log_group,
                environment_encryption=key.key,
                description=(task.description or f"{workflow.name} / {task.name}")[:256],
                # Step Functions retries and alerts; Lambda's own async retries never apply to a
                # synchronous lambda:invoke, so none are configured.
            )
            lint.skip_checkov(self.functions[task.name], lint.LAMBDA_CHECKS_THAT_DO_NOT_APPLY)
            lint.drop_implied_dependency(self.functions[task.name], role)
            roles.append(role)
        # Lambda decrypts each environment with the function's role when it starts the function.
        key.allow_senders("FunctionsReadTheirEnvironment", roles, "lambda", actions=("kms:Decrypt",))
