"""The HTTP face of ``Service``: awsJson1_0 as the AWS SDKs send it, and the console's GET routes.

Every SDK sends a Step Functions call as ``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Op>``,
``Content-Type: application/x-amz-json-1.0`` and the request as a JSON object; the answer is the
response object (HTTP 200), or AWS's error object ``{"__type": code, "message": text}`` with
HTTP 400, from which botocore raises ``client.exceptions.<code>``. Whatever arrives — a body
that is not JSON, an unknown target, a value of the wrong type, a body over the size limit — is
answered with AWS's error; a bug of the service is answered ``InternalFailure`` (HTTP 500) and
logged with its traceback, and the server goes on serving.

GET routes are the console's: ``orchestrator.console.routes(service)`` when the console package
provides it; until then ``GET /`` says the console is not installed.

    >>> import tempfile
    >>> from starlette.testclient import TestClient
    >>> from orchestrator.server.service import Service
    >>> client = TestClient(create_app(Service(home=tempfile.mkdtemp())))
    >>> client.post("/", headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"}, content=b"{}").json()
    {'stateMachines': []}
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from orchestrator.errors import OrchestratorError
from orchestrator.server.auth import SigV4Verifier
from orchestrator.server.errors import ServiceError
from orchestrator.server.service import Service

CONTENT_TYPE = "application/x-amz-json-1.0"
# The largest request body read: a 1 MB definition (CreateStateMachine's quota) JSON-escaped can
# about double; anything bigger is refused before it is parsed, so memory stays bounded.
MAX_REQUEST_BYTES = 4 * 1024 * 1024

# Operations that wait (for an execution to end, a stop to take effect): run on a worker thread
# so the event loop keeps answering others. Every other operation is a few store reads or writes.
_BLOCKING = frozenset({"StartSyncExecution", "StopExecution"})

log = logging.getLogger("orchestrator.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _error_body(error: ServiceError) -> bytes:
    return json.dumps(error.body()).encode()


def _error(error: ServiceError, request_id: str) -> Response:
    return Response(_error_body(error), status_code=error.status, media_type=CONTENT_TYPE,
                    headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error.code})


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, or ``ServiceError`` as soon as it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ServiceError("ValidationException",
                               f"Request body is larger than {limit} bytes; the largest request the API takes is "
                               "a 1 MB definition or a 256 KiB input", status=413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class _Guard:
    """ASGI middleware: reads the body once (bounded), checks SigV4 if asked, then hands it on."""

    def __init__(self, app: ASGIApp, verifier: SigV4Verifier | None, limit: int) -> None:
        self.app = app
        self.verifier = verifier
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        try:
            body = await _read_body(receive, self.limit)
            if self.verifier is not None:
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
                self.verifier.verify(scope["method"], scope.get("raw_path", b"/").decode("latin-1").split("?")[0]
                                     or "/", scope.get("query_string", b"").decode("latin-1"), headers, body)
        except ServiceError as error:
            await _error(error, request_id)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def create_app(service: Service, *, verifier: SigV4Verifier | None = None,
               max_request_bytes: int = MAX_REQUEST_BYTES) -> ASGIApp:
    """The ASGI app of ``service``; with ``verifier`` every request must be SigV4-signed."""
    prefix = f"{service.api.target_prefix}."

    async def api(request: Request) -> Response:
        request_id = str(request.scope.get("state", {}).get("request_id") or uuid.uuid4())
        target = request.headers.get("x-amz-target", "")
        operation = target[len(prefix):] if target.startswith(prefix) else ""
        try:
            if not operation:
                raise ServiceError("UnknownOperationException",
                                   f"Unknown operation {target!r}: send X-Amz-Target: {prefix}<Operation>"
                                   if target else "Missing X-Amz-Target header: send X-Amz-Target: "
                                   f"{prefix}<Operation>")
            body = await request.body()
            try:
                params = json.loads(body) if body.strip() else {}
            except ValueError as exc:
                raise ServiceError("SerializationException", f"The request body is not valid JSON: {exc}") from None
            if not isinstance(params, dict):
                raise ServiceError("SerializationException",
                                   f"The request body must be a JSON object, got {type(params).__name__}")
            if operation in _BLOCKING:
                result = await run_in_threadpool(service.call, operation, params)
            else:  # milliseconds of store work: a thread hop would cost more than it saves
                result = service.call(operation, params)
        except ServiceError as error:
            return _error(error, request_id)
        except OrchestratorError as error:  # a local problem the message explains (a setting, the store)
            log.warning("AWSStepFunctions.%s: %s", operation, error)
            return _error(ServiceError("ValidationException", str(error)), request_id)
        except Exception:  # a bug of ours: logged in full, answered as AWS answers its own
            log.exception("AWSStepFunctions.%s failed", operation)
            return _error(ServiceError("InternalFailure", "The request processing has failed because of an unknown "
                                       "error, exception or failure.", status=500), request_id)
        return Response(json.dumps(result).encode(), media_type=CONTENT_TYPE,
                        headers={"x-amzn-RequestId": request_id})

    routes: list[BaseRoute] = [Route("/", api, methods=["POST"])]
    routes.extend(_console_routes(service))
    app = Starlette(routes=routes)
    return _Guard(app, verifier, max_request_bytes)


def _console_routes(service: Service) -> list[BaseRoute]:
    """The console's GET routes when ``orchestrator.console.routes`` exists, else a plain page."""
    import orchestrator.console as console

    factory: Callable[[Service], list[BaseRoute]] | None = getattr(console, "routes", None)
    if factory is not None:
        return list(factory(service))

    async def page(request: Request) -> Response:
        return HTMLResponse("<!doctype html><title>orchestrator serve</title><p>The Step Functions API is served "
                            "here (POST /). The web console is not installed in this version.</p>")
    return [Route("/", page, methods=["GET"])]
