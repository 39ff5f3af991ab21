"""Test-wide setup: what the developer's machine happens to have must not change what tests see;
and fixtures shared by test modules.

``orchestrator.arns`` reads Step Functions Local's ``AWS_ACCOUNT_ID`` and ``AWS_DEFAULT_REGION``
once, at import; tests (and the CLI subprocesses they start) expect ``123456789012`` and
``us-east-1``, so a shell configured for real AWS must not change them. Tests of those settings
pass them to a subprocess explicitly.

Batch jobs run as host processes unless a test asks for containers (tests/test_local_docker.py):
whether a Docker engine happens to run must not change what other tests see or how long they take.

The example stacks are synthesized once per session (jsii starts Node.js and every example is
compiled: tens of seconds).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

for _name in ("AWS_ACCOUNT_ID", "AWS_DEFAULT_REGION"):
    os.environ.pop(_name, None)
os.environ.setdefault("ORCHESTRATOR_CONTAINERS", "never")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The template of every example stack, as ``orchestrator synth`` writes them with no AWS
    account (environment-agnostic)."""
    if shutil.which("node") is None:  # jsii runs aws-cdk-lib in Node.js
        pytest.skip("the CDK needs Node.js")
    pytest.importorskip("aws_cdk")
    from orchestrator.cdk.synth import synthesize

    saved = {k: os.environ.pop(k) for k in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION") if k in os.environ}
    try:
        return synthesize(out=tmp_path_factory.mktemp("synth"), project_root=ROOT)
    finally:
        os.environ.update(saved)
