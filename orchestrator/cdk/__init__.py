"""CDK constructs that build the whole AWS stack for a compiled workflow.

Needs the ``cdk`` extra (``pip install 'sfn-orchestrator[cdk]'``); nothing else in the package
imports this module. The constructs are loaded on first use, so that ``orchestrator.cdk.toolkit``
(which runs the CDK CLI) can report a missing Node.js or aws-cdk-lib before jsii starts.

    from aws_cdk import App
    from orchestrator.cdk import WorkflowStack
    from orchestrator.spec import load

    app = App()
    WorkflowStack(app, "orchestrator-nightly-sales", workflow=load("state_machines/nightly_sales.py"))
    app.synth()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.cdk.stack import (
        DeployError,
        DeployOptions,
        NetworkStack,
        WorkflowConstruct,
        WorkflowStack,
    )

__all__ = ["DeployError", "DeployOptions", "NetworkStack", "WorkflowConstruct", "WorkflowStack"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from orchestrator.cdk import stack

        return getattr(stack, name)
    raise AttributeError(f"module 'orchestrator.cdk' has no attribute {name!r}")
