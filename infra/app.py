#!/usr/bin/env python3
"""The CDK app that deploys a project's workflows: one stack per workflow, one shared network.

Context (``cdk synth -c key=value`` or ``cdk.json``):

* ``workflows``: comma-separated workflow files relative to the project root
  (default: every workflow under ``state_machines/``);
* ``project_root``: the project directory (default: the parent of this ``infra/`` directory);
* ``vpc_id``: deploy Batch into this existing VPC (looked up once, cached in cdk.context.json)
  instead of creating one; ``private_subnets=true`` puts jobs in its private subnets behind NAT;
* ``alert_on_failed=true``: also alert through EventBridge on FAILED (the Catch path already does);
* ``tracing=true``: X-Ray tracing on the state machines; ``log_level``: ALL, ERROR (default), FATAL, OFF.

The account and region come from the CLI's credentials/profile (``CDK_DEFAULT_ACCOUNT`` /
``CDK_DEFAULT_REGION``); with neither, stacks are environment-agnostic (enough for ``cdk synth``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii prints a banner for Node versions past their end of life; the synthesized output is the same.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_stepfunctions as sfn  # noqa: E402


def _flag(app: cdk.App, key: str) -> bool:
    return str(app.node.try_get_context(key) or "").lower() in ("1", "true", "yes")


def main() -> None:
    app = cdk.App()
    root = Path(app.node.try_get_context("project_root") or Path(__file__).resolve().parent.parent).resolve()
    # Workflow modules import their project's packages (state_machines.sales_jobs, ...).
    sys.path.insert(0, str(root))
    from orchestrator.cdk import DeployOptions
    from orchestrator.cdk.app import build

    given = app.node.try_get_context("workflows") or []  # "a.py,b.yaml" (-c) or a list (cdk.json)
    files = [f.strip() for f in (given.split(",") if isinstance(given, str) else given) if f.strip()]
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    options = DeployOptions(
        project_root=root,
        public_subnets=not _flag(app, "private_subnets"),
        tracing=_flag(app, "tracing"),
        alert_on_failed=_flag(app, "alert_on_failed"),
        log_level=sfn.LogLevel[str(app.node.try_get_context("log_level") or "ERROR").upper()],
    )
    build(app, project_root=root, workflow_files=files or None, vpc_id=app.node.try_get_context("vpc_id"),
          env=env, options=options)
    app.synth()


if __name__ == "__main__":
    main()
