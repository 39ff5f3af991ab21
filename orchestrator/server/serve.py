"""``orchestrator serve``: one long-running process with the Step Functions endpoint in it.

It binds 127.0.0.1 unless ``--host`` says otherwise. Any other address is reachable by others,
who could then run jobs on this machine, so there the server refuses to start without an access
key, and every request must then be SigV4-signed with it (``auth``).

SIGTERM or SIGINT (Ctrl-C): uvicorn stops accepting connections and finishes the requests in
flight; then every execution still running is marked FAILED (``Local.RunnerExited``, its cause
naming the redrive command), its jobs are stopped, and the process exits 0. Every history event
and completed task result was committed as it happened, so ``orchestrator redrive`` — or the
next ``orchestrator serve`` in the same directory, which resumes what the last one left — finishes
them without re-running completed tasks.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
"""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from orchestrator.errors import OrchestratorError
from orchestrator.local.environment import MOCK_CONFIG, wait_time_scale
from orchestrator.local.mocks import MockConfig
from orchestrator.server.auth import SigV4Verifier
from orchestrator.server.service import Service

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8083
SWITCH_INTERVAL_SECONDS = 0.0005
GRACEFUL_SECONDS = 10


class ServeError(OrchestratorError):
    """``orchestrator serve`` cannot start as asked (an open address without a key, a bad option)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_access(host: str, access_key_id: str | None, secret_access_key: str | None) -> SigV4Verifier | None:
    """The signature check to apply, or ``ServeError`` when the options do not make a safe server."""
    if (access_key_id is None) != (secret_access_key is None):
        raise ServeError("--access-key-id and --secret-access-key go together: give both "
                         "(clients sign their requests with them), or neither on 127.0.0.1.")
    if access_key_id is None or secret_access_key is None:
        if not is_loopback(host):
            raise ServeError(
                f"Refusing to serve on {host} without an access key: anyone who can reach it could run jobs on "
                f"this machine. Add --access-key-id KEY --secret-access-key SECRET (every request must then be "
                f"signed with them), or serve on {DEFAULT_HOST}.")
        return None
    from orchestrator.server.shapes import ApiModel

    return SigV4Verifier(access_key_id, secret_access_key, service=ApiModel.load().signing_name)


def serve(paths: Sequence[str], *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          access_key_id: str | None = None, secret_access_key: str | None = None,
          mock_config: str | None = None, home: str | None = None,
          print_line: Callable[[str], None] | None = None) -> int:
    """Run the server until SIGTERM/SIGINT; returns the exit code (0 after a clean stop)."""
    import uvicorn

    from orchestrator.server.app import create_app

    say = print_line or (lambda text: print(text, file=sys.stderr, flush=True))
    verifier = check_access(host, access_key_id, secret_access_key)
    wait_time_scale()  # a bad WAIT_TIME_SCALE stops the server here, not each StartExecution later
    mock_path = mock_config or os.environ.get(MOCK_CONFIG) or None
    config = MockConfig.load(mock_path) if mock_path else None
    service = Service(home=home, mock_config=config, notice=say)
    served = service.serve(paths)
    resumed = service.resume()
    from orchestrator.scheduler import Scheduler

    scheduler = Scheduler(service, service.store, notice=say)  # fires the served workflows' schedules
    app = create_app(service, verifier=verifier)
    # In-flight requests get this long to finish after SIGTERM (a StartSyncExecution may wait for
    # minutes); what is still running after it is marked for redrive like the rest.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="off", timeout_graceful_shutdown=GRACEFUL_SECONDS))
    # uvicorn restores the handlers it found and re-raises the signal once it has shut down; these
    # make that a no-op, so shutting down ends here, in order, instead of in a KeyboardInterrupt.
    caught: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    previous: dict[int, Any] = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    for item in served:
        say(f"serving workflow {item.workflow.name!r} as {item.state_machine_arn}")
    for arn in resumed:
        say(f"resuming {arn} (left running by the last server)")
    if mock_path:
        say(f"mock config: {mock_path} (start <stateMachineArn>#<TestCase> to use a test case)")
    say(f"Step Functions API on http://{host}:{port} (endpoint_url for boto3 / --endpoint-url for the AWS CLI)"
        + ("; requests must be SigV4-signed" if verifier else ""))
    # Executions run on threads of this process; a shorter GIL switch interval than the default
    # 5 ms keeps a busy execution from holding up the answer to an unrelated request.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    try:
        scheduler.start()
        server.run()
    finally:
        scheduler.stop()
        marked = service.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for arn in marked:
        name = arn.rsplit(":", 1)[-1]
        say(f"stopped while running: {name} — `orchestrator redrive {name}` (or the next `orchestrator serve`) "
            "finishes it")
    if not server.started:
        raise ServeError(f"Could not serve on {host}:{port} (is the port in use?).")
    return 0
