#!/usr/bin/env python3
"""A CDK app of your own that deploys a workflow with ``orchestrator.cdk.WorkflowConstruct``,
beside resources the workflow does not own (here: the VPC, shared with whatever else the stack
holds, and a longer log retention).

Synthesize it without an AWS account (from the project root):

    python3 infra/examples/own_app.py

or through the CDK CLI, which can then deploy it:

    npx --yes aws-cdk@2 synth --app "python3 infra/examples/own_app.py"
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT))  # the workflow module imports its project's packages

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_ec2 as ec2  # noqa: E402
from aws_cdk import aws_logs as logs  # noqa: E402

from orchestrator.cdk import DeployOptions, WorkflowConstruct  # noqa: E402
from orchestrator.spec import load  # noqa: E402


class DataPlatform(cdk.Stack):
    """The team's stack: its network, and the nightly sales workflow running in it."""

    def __init__(self, scope: cdk.App, id: str) -> None:
        super().__init__(scope, id, description="Data platform: shared network and the nightly sales workflow")
        vpc = ec2.Vpc(
            self, "Network", nat_gateways=0,
            availability_zones=[cdk.Fn.select(i, cdk.Fn.get_azs()) for i in range(2)],
            subnet_configuration=[ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)],
        )
        self.sales = WorkflowConstruct(
            self, "NightlySales",
            workflow=load(PROJECT / "state_machines" / "nightly_sales.py"),
            vpc=vpc,
            options=DeployOptions(project_root=PROJECT, log_retention=logs.RetentionDays.THREE_MONTHS),
        )
        cdk.CfnOutput(self, "SalesStateMachine", value=self.sales.state_machine.state_machine_arn)


if __name__ == "__main__":
    app = cdk.App()
    DataPlatform(app, "data-platform")
    app.synth()
