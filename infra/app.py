#!/usr/bin/env python3
"""The CDK app that deploys a project's workflows: one stack per workflow, one shared network.

``orchestrator deploy``, ``diff`` and ``destroy`` run the CDK CLI on this app; ``orchestrator
synth`` builds the same stacks in-process. The context keys it reads (``-c key=value`` or
``cdk.json``) are documented in ``orchestrator.cdk.app.from_context``; the project root defaults
to the parent of this ``infra/`` directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii prints a banner for Node versions past their end of life; the synthesized output is the same.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# The project (and an orchestrator checkout in it) is importable without being installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aws_cdk as cdk  # noqa: E402

from orchestrator.cdk.app import from_context  # noqa: E402


def main() -> None:
    app = cdk.App()
    from_context(app, Path(__file__).resolve().parent.parent)
    app.synth()


if __name__ == "__main__":
    main()
