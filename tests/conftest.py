"""Test-wide setup: the local account and region are the defaults whatever the developer's shell says.

``orchestrator.arns`` reads Step Functions Local's ``AWS_ACCOUNT_ID`` and ``AWS_DEFAULT_REGION``
once, at import; tests (and the CLI subprocesses they start) expect ``123456789012`` and
``us-east-1``, so a shell configured for real AWS must not change them. Tests of those settings
pass them to a subprocess explicitly.
"""

from __future__ import annotations

import os

for _name in ("AWS_ACCOUNT_ID", "AWS_DEFAULT_REGION"):
    os.environ.pop(_name, None)
