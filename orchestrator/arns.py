"""The one builder of AWS resource ARNs, and the account and region the local services use.

Everything that assembles an ARN (the compiler's placeholders resolved locally, local Batch, local
Lambda, the SNS outbox, the engine, the local endpoint) calls :func:`arn` here.
"""

from __future__ import annotations
