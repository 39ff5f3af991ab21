"""CDK constructs that build the whole AWS stack for a compiled workflow.

Needs the ``cdk`` extra (``pip install 'sfn-orchestrator[cdk]'``); nothing else in the package
imports this module.

    from aws_cdk import App
    from orchestrator.cdk import WorkflowStack
    from orchestrator.spec import load

    app = App()
    WorkflowStack(app, "orchestrator-nightly-sales", workflow=load("state_machines/nightly_sales.py"))
    app.synth()
"""

from __future__ import annotations

from orchestrator.cdk.stack import DeployError, DeployOptions, NetworkStack, WorkflowConstruct, WorkflowStack

__all__ = ["DeployError", "DeployOptions", "NetworkStack", "WorkflowConstruct", "WorkflowStack"]
