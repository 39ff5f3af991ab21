"""Suite-wide settings."""

from __future__ import annotations

import os

# Batch jobs run as host processes unless a test asks for containers (tests/test_local_docker.py):
# whether a Docker engine happens to run must not change what other tests see or how long they take.
os.environ.setdefault("ORCHESTRATOR_CONTAINERS", "never")
