"""The CDK app behind ``infra/app.py`` and ``orchestrator synth``: find a project's workflows,
compile them, one stack each.

One stack per workflow, plus one shared network stack when any workflow runs on Batch: a
workflow is deployed, rolled back, and deleted without touching the others, a failed deploy of
one cannot block the rest, and each stays far from CloudFormation's 500-resource limit.

    >>> stack_name("nightly-sales")
    'orchestrator-nightly-sales'
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from orchestrator import model
from orchestrator.cdk import batch
from orchestrator.cdk.stack import DeployOptions, NetworkStack, WorkflowStack
from orchestrator.cdk.toolkit import stack_name
from orchestrator.compiler import compile_workflow
from orchestrator.errors import Problem, SpecError
from orchestrator.spec import load_all
from orchestrator.spec.discover import WORKFLOW_GLOBS, load_found, unique_names, workflow_files

DEFAULT_PATTERNS = tuple(f"state_machines/{glob}" for glob in WORKFLOW_GLOBS)
NETWORK_STACK = "orchestrator-network"


def discover(project_root: Path, patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[Path]:
    """Workflow files under ``project_root`` matching ``patterns`` (sorted, ``__init__.py`` left out)."""
    return workflow_files(project_root, patterns)


def load_workflows(files: Sequence[Path], *, skip_empty: bool) -> list[model.Workflow]:
    """Every workflow of ``files``. With ``skip_empty`` (files found by a glob), a Python module
    that defines no workflow (a helper like ``sales_jobs.py``) is passed over; a file named
    explicitly must define one."""
    workflows = [wf for path in files for wf in (load_found(path) if skip_empty else load_all(path))]
    unique_names(workflows, "the workflow files (" + ", ".join(str(path) for path in files) + ")")
    return workflows


def build(
    app: Construct,
    *,
    project_root: Path,
    workflow_files: Sequence[str] | None = None,
    vpc_id: str | None = None,
    env: cdk.Environment | None = None,
    options: DeployOptions | None = None,
) -> list[WorkflowStack]:
    """Add the stacks for a project's workflows to ``app``; files are relative to ``project_root``."""
    if workflow_files:
        files = [project_root / f for f in workflow_files]
        workflows = load_workflows(files, skip_empty=False)
    else:
        workflows = load_workflows(discover(project_root), skip_empty=True)
    options = options or DeployOptions(project_root=project_root)
    network: NetworkStack | None = None
    if vpc_id is None and any(batch.batch_tasks(wf) for wf in workflows):
        network = NetworkStack(app, NETWORK_STACK, env=env)
    stacks = []
    for wf in workflows:
        stacks.append(WorkflowStack(
            app,
            stack_name(wf.name),
            workflow=wf,
            compiled=compile_workflow(wf),
            vpc=network.vpc if network is not None else None,
            vpc_id=vpc_id,
            options=options,
            env=env,
        ))
    return stacks


def _flag(app: cdk.App, key: str) -> bool:
    return str(app.node.try_get_context(key) or "").lower() in ("1", "true", "yes")


def from_context(app: cdk.App, default_root: Path) -> list[WorkflowStack]:
    """Add the project's stacks to ``app`` as its context asks (``cdk -c key=value``, ``cdk.json``):

    * ``workflows``: comma-separated workflow files relative to the project root, or a list
      (default: every workflow under ``state_machines/``);
    * ``project_root``: the project directory (default: ``default_root``);
    * ``vpc_id``: deploy Batch into this existing VPC (looked up once, cached in cdk.context.json)
      instead of creating one; ``private_subnets=true`` puts jobs in its private subnets behind NAT;
    * ``alert_on_failed=true``: also alert through EventBridge on FAILED (the Catch path already does);
    * ``tracing=true``: X-Ray tracing; ``log_level``: ALL, ERROR (default), FATAL, OFF.

    The account and region come from the CDK CLI's credentials (``CDK_DEFAULT_ACCOUNT`` /
    ``CDK_DEFAULT_REGION``); with neither, stacks are environment-agnostic (enough to synthesize).
    """
    root = Path(app.node.try_get_context("project_root") or default_root).resolve()
    # Workflow modules import their project's packages (state_machines.sales_jobs, ...).
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    given = app.node.try_get_context("workflows") or []
    files = [f.strip() for f in (given.split(",") if isinstance(given, str) else given) if f.strip()]
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    level = str(app.node.try_get_context("log_level") or "ERROR").upper()
    if level not in sfn.LogLevel.__members__:
        raise SpecError([Problem(where="CDK context 'log_level'", message=f"is {level!r}",
                                 fix="-c log_level=ERROR  (one of ALL, ERROR, FATAL, OFF)")])
    options = DeployOptions(
        project_root=root,
        public_subnets=not _flag(app, "private_subnets"),
        tracing=_flag(app, "tracing"),
        alert_on_failed=_flag(app, "alert_on_failed"),
        log_level=sfn.LogLevel[level],
    )
    return build(app, project_root=root, workflow_files=files or None, vpc_id=app.node.try_get_context("vpc_id"),
                 env=env, options=options)


def main() -> None:
    """Run as the CDK CLI's app (``--app "python -m orchestrator.cdk.app"``) for a project that has
    no ``infra/app.py`` of its own: the project is the working directory."""
    app = cdk.App()
    from_context(app, Path.cwd())
    app.synth()


if __name__ == "__main__":
    main()
