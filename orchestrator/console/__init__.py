"""The local web console: pages a browser GETs on the port of ``orchestrator serve``.

``serve`` mounts :func:`routes` beside the Step Functions endpoint (SDKs POST ``/``; browsers GET
pages). The pages are static shells filled by the package's own script, which reads the console
API below and acts through the Step Functions API itself (``POST /`` with ``X-Amz-Target:
AWSStepFunctions.StartExecution`` and so on), so the page and the CLI never diverge:

| URL | what |
|---|---|
| ``/`` | workflows: schedule, last runs, success rate, latest vs usual duration |
| ``/executions?workflow=&status=&since=&until=&q=`` | every execution, filtered, newest first |
| ``/executions/<execution ARN>`` | one execution: graph, timeline, events, tasks, logs, alerts |
| ``/console/api/...`` | the JSON those pages read (what the Step Functions API cannot answer) |
| ``/console/static/...`` | the vendored assets |

Every request is checked against cross-site use: on a loopback bind the ``Host`` must be a
loopback name (a DNS-rebinding page cannot read the API), and the API answers no request a
browser marks as coming from another site.

    >>> import tempfile
    >>> from orchestrator.local.store import Store
    >>> class Service:
    ...     store = Store(tempfile.mkdtemp())
    ...     def served_workflows(self): return []
    >>> sorted(r.path for r in routes(Service()))[:3]
    ['/', '/console/api/execution', '/console/api/executions']
"""

from __future__ import annotations

import html
import ipaddress
import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from orchestrator.console import data
from orchestrator.console.data import ConsoleRequestError, ConsoleService
from orchestrator.console.layout import layout_text
from orchestrator.local.store import ExecutionNotFound

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"workflows": "Workflows", "executions": "Executions", "execution": "Execution"}
_LOOPBACK_NAMES = ("localhost", "localhost.")
SECURITY_HEADERS = {
    # No inline script: every script is a served file, so an injected string cannot run.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",  # the action buttons cannot be clicked through a frame
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _asset_version() -> str:
    try:
        return package_version("sfn-orchestrator")
    except PackageNotFoundError:
        return "dev"


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_of(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8083`` → ``::1``)."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def refusal(request: Request, *, api: bool) -> str | None:
    """Why a request is refused (None: served).

    On a loopback bind the ``Host`` header must name loopback: a page on another site that
    rebinds its DNS name to 127.0.0.1 sends its own name. The API also refuses what a browser marks
    cross-site (``Sec-Fetch-Site``) or sends from another ``Origin``; pages may be opened from a
    link anywhere.
    """
    server = request.scope.get("server")
    if server and _is_loopback(str(server[0])):
        host = _host_of(request.headers.get("host", ""))
        if not _is_loopback(host):
            return (f"Host {host!r} is not a loopback name; this console listens on loopback: open "
                    f"http://127.0.0.1:{server[1]}/")
    if not api:
        return None
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"cross-site request refused (Sec-Fetch-Site: {site}); the console API serves its own pages only"
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin != own:
            return f"cross-origin request refused (Origin: {origin}); the console API serves its own pages only"
    return None


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **SECURITY_HEADERS})


def _error(status: int, code: str, message: str) -> Response:
    return _json({"error": code, "message": message}, status)


def _page_html(page: str, *, arn: str = "") -> str:
    v = html.escape(_asset_version())
    title = PAGES[page] + (f" · {arn.rsplit(':', 1)[-1]}" if arn else "")
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)} — sfn-orchestrator</title>"
        f"<link rel=\"stylesheet\" href=\"/console/static/console.css?v={v}\">"
        f"<link rel=\"icon\" href=\"/console/static/favicon.svg?v={v}\">"
        f"<script src=\"/console/static/console.js?v={v}\" defer></script></head>"
        f"<body data-page=\"{page}\" data-arn=\"{html.escape(arn, quote=True)}\">"
        "<header class=\"top\"><a class=\"brand\" href=\"/\">sfn-orchestrator</a>"
        "<nav><a href=\"/\" data-nav=\"workflows\">Workflows</a>"
        "<a href=\"/executions\" data-nav=\"executions\">Executions</a></nav>"
        "<span id=\"live\" class=\"live\" title=\"updates without reloading\"></span></header>"
        "<main id=\"main\"><noscript>The console needs JavaScript (served by this package; nothing is "
        "fetched from elsewhere).</noscript></main></body></html>\n")


Handler = Callable[[Request], Awaitable[Response]]


def routes(service: ConsoleService) -> list[BaseRoute]:
    """The console's GET routes over ``service`` (its store and served workflows)."""
    store = service.store

    def api(build: Callable[[Mapping[str, str]], Any]) -> Handler:
        async def endpoint(request: Request) -> Response:
            refused = refusal(request, api=True)
            if refused is not None:
                return _error(403, "Forbidden", refused)
            params = dict(request.query_params)
            try:
                # The store is SQLite behind a lock: read it off the event loop.
                body = await run_in_threadpool(build, params)
            except ConsoleRequestError as exc:
                return _error(exc.status, "NotFound" if exc.status == 404 else "BadRequest", str(exc))
            return _json(body)
        return endpoint

    def page(name: str) -> Handler:
        async def endpoint(request: Request) -> Response:
            refused = refusal(request, api=False)
            if refused is not None:
                return Response(refused + "\n", status_code=403, media_type="text/plain")
            arn = str(request.path_params.get("arn", ""))
            return Response(_page_html(name, arn=arn), media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-store", **SECURITY_HEADERS})
        return endpoint

    def arn_of(params: Mapping[str, str]) -> str:
        arn = params.get("arn") or ""
        if not arn:
            raise ConsoleRequestError("name the execution: arn=EXECUTION_ARN")
        return arn

    def execution(params: Mapping[str, str]) -> Any:
        arn = arn_of(params)
        since = params.get("since")
        if since:
            try:
                current = data.version(store, arn)
            except ExecutionNotFound:
                raise ConsoleRequestError(f"No execution {arn!r} in the store {store.path}", status=404) from None
            if current == since:
                return {"unchanged": True, "version": current}
        try:
            workflow = store.execution(arn).workflow
        except ExecutionNotFound:
            workflow = ""
        return data.execution_detail(store, arn, graph=params.get("graph", "1") != "0",
                                     dependencies=data.dependencies(service, workflow))

    # Lay out the served workflows' machines now, beside startup, so the first execution page
    # opened does not pay for it (a 1,000-task layout is a fifth of a second).
    threading.Thread(target=_warm_layouts, args=(service,), name="console-layouts", daemon=True).start()
    static = StaticFiles(directory=STATIC)
    return [
        Route("/", page("workflows"), methods=["GET"], name="console-workflows"),
        Route("/workflows", page("workflows"), methods=["GET"]),
        Route("/executions", page("executions"), methods=["GET"], name="console-executions"),
        Route("/executions/{arn:path}", page("execution"), methods=["GET"], name="console-execution"),
        Route("/console/api/workflows", api(lambda p: data.workflows(service)), methods=["GET"]),
        Route("/console/api/executions", api(lambda p: data.executions_page(store, p)), methods=["GET"]),
        Route("/console/api/execution", api(execution), methods=["GET"]),
        Route("/console/api/history", api(lambda p: data.history(store, arn_of(p), p)), methods=["GET"]),
        Route("/console/api/log", api(lambda p: data.log_chunk(store, arn_of(p), p)), methods=["GET"]),
        Route("/console/api/tail", api(lambda p: data.tail(store, arn_of(p), p)), methods=["GET"]),
        Mount("/console/static", app=static, name="console-static"),
    ]


def _warm_layouts(service: ConsoleService) -> None:
    for served in service.served_workflows():
        row = service.store.state_machine(served.state_machine_arn)  # the endpoint's registry
        plan = row.plan if row is not None else None
        if isinstance(plan, Mapping):
            for definition in (plan.get("definitions") or {}).values():
                layout_text(json.dumps(definition, sort_keys=True))


__all__ = ["ConsoleService", "refusal", "routes"]
