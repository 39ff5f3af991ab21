"""boto3 against real Step Functions: deploy compiled state machines, start and inspect
executions, console links.

boto3 is optional (``pip install 'sfn-orchestrator[aws]'``): nothing here imports it until a call
needs a client, and a missing boto3 is an ``AwsError`` saying how to install it.

* :mod:`orchestrator.aws.deploy` ``deploy_state_machines(result, role_arn=..., substitutions=...)``
* :mod:`orchestrator.aws.executions` ``start``, ``list_executions``, ``describe``, ``history``,
  ``stop``, ``redrive``, ``wait``
* :mod:`orchestrator.aws.links` console URLs (partition-aware)
* :mod:`orchestrator.aws.errors` ``AwsError`` and the translation of botocore failures
* :mod:`orchestrator.aws.commands` what the CLI's AWS commands call
"""

from __future__ import annotations

from orchestrator.aws.deploy import deploy_state_machines
from orchestrator.aws.errors import AwsError

__all__ = ["AwsError", "deploy_state_machines"]
