"""The Step Functions API's errors: an AWS error code and a message, answered as HTTP 400.

Service methods raise ``ServiceError("StateMachineDoesNotExist", "State Machine Does Not Exist:
'arn:...'")``; the endpoint turns it into AWS's JSON error (``{"__type": code, "message": ...}``),
which botocore maps to the SDK's exception class (``client.exceptions.StateMachineDoesNotExist``).

    >>> error = ServiceError("InvalidArn", "Invalid Arn: 'x'")
    >>> error.body()
    {'__type': 'InvalidArn', 'message': "Invalid Arn: 'x'"}
"""

from __future__ import annotations

from typing import Any

from orchestrator.errors import OrchestratorError


class ServiceError(OrchestratorError):
    """An API error: ``code`` is AWS's error code (the SDK exception's name), ``status`` its HTTP status."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{code}: {message}")

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message}
