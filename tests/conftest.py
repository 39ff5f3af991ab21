"""Test-wide setup: what the developer's machine happens to have must not change what tests see.

``orchestrator.arns`` reads Step Functions Local's ``AWS_ACCOUNT_ID`` and ``AWS_DEFAULT_REGION``
once, at import; tests (and the CLI subprocesses they start) expect ``123456789012`` and
``us-east-1``, so a shell configured for real AWS must not change them. Tests of those settings
pass them to a subprocess explicitly.

Batch jobs run as host processes unless a test asks for containers (tests/test_local_docker.py):
whether a Docker engine happens to run must not change what other tests see or how long they take.
"""

from __future__ import annotations

import os

for _name in ("AWS_ACCOUNT_ID", "AWS_DEFAULT_REGION"):
    os.environ.pop(_name, None)
os.environ.setdefault("ORCHESTRATOR_CONTAINERS", "never")
