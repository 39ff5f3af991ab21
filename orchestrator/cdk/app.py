"""The CDK app behind ``infra/app.py``: find a project's workflows, compile them, one stack each.

One stack per workflow, plus one shared network stack when any workflow runs on Batch: a
workflow is deployed, rolled back, and deleted without touching the others, a failed deploy of
one cannot block the rest, and each stays far from CloudFormation's 500-resource limit.

    >>> stack_name("nightly-sales")
    'orchestrator-nightly-sales'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from constructs import Construct

from orchestrator import model
from orchestrator.cdk import batch
from orchestrator.cdk.stack import DeployOptions, NetworkStack, WorkflowStack
from orchestrator.compiler import compile_workflow
from orchestrator.errors import SpecError
from orchestrator.spec import load_all

DEFAULT_PATTERNS = ("state_machines/*.py", "state_machines/*.yaml", "state_machines/*.yml")
NETWORK_STACK = "orchestrator-network"
_NO_WORKFLOW = "defines no workflow at module level"


def stack_name(workflow: str) -> str:
    """CloudFormation stack names are letters, digits and hyphens, starting with a letter."""
    return ("orchestrator-" + re.sub(r"[^A-Za-z0-9-]", "-", workflow))[:128]


def discover(project_root: Path, patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[Path]:
    """Workflow files under ``project_root`` matching ``patterns`` (sorted, ``__init__.py`` left out)."""
    found = {p for pattern in patterns for p in project_root.glob(pattern) if p.name != "__init__.py"}
    return sorted(found)


def load_workflows(files: Sequence[Path], *, skip_empty: bool) -> list[model.Workflow]:
    """Every workflow of ``files``. With ``skip_empty`` (files found by a glob), a Python module
    that defines no workflow (a helper like ``sales_jobs.py``) is passed over; a file named
    explicitly must define one."""
    workflows: list[model.Workflow] = []
    for path in files:
        try:
            workflows.extend(load_all(path))
        except SpecError as error:
            if skip_empty and all(p.message == _NO_WORKFLOW for p in error.problems):
                continue
            raise
    names = [wf.name for wf in workflows]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"workflow names must be unique across files; repeated: {', '.join(duplicates)}")
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
