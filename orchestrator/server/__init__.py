"""``orchestrator serve``: the Step Functions API over HTTP, for any AWS SDK, on this machine.

The seam the other parts of the process build on:

- ``Service`` (``service.py``): the API operations as snake_case methods taking and returning the
  API's dicts (``service.start_execution({"stateMachineArn": arn, "input": "{}"})``), raising
  ``ServiceError`` with AWS's error code; ``service.call("StartExecution", request)`` checks the
  request against botocore's model first. ``service.served_workflows()`` lists each project
  workflow the server was given (its ``model.Workflow`` and state machine ARN) — what the
  scheduler starts on schedule.
- ``create_app(service)`` (``app.py``): the Starlette app — ``POST /`` speaks awsJson1_0
  (``X-Amz-Target: AWSStepFunctions.<Operation>``); GET routes come from
  ``orchestrator.console.routes(service)`` when the console provides that function.
- ``serve(...)`` (``serve.py``): the process — uvicorn on 127.0.0.1 by default, SigV4 required on
  any other address, SIGTERM/SIGINT leaving running executions marked for ``redrive``.
"""

from orchestrator.server.errors import ServiceError
from orchestrator.server.service import OPERATIONS, ServedWorkflow, Service

__all__ = ["OPERATIONS", "ServedWorkflow", "Service", "ServiceError"]
