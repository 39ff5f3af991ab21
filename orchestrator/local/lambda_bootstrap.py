"""The worker process of local Lambda: one warm execution environment for one function.

Run as a script (``python lambda_bootstrap.py LOG_PATH``) so a worker starts without importing
this package. It reads one JSON request per line on stdin and answers one JSON line on the
original stdout; the handler's own prints go to the log file, like CloudWatch Logs, framed by
Lambda's START / END / REPORT lines.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any


class LambdaContext:
    """The handler's ``context`` with the attributes Lambda's Python runtime provides."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.aws_request_id: str = request["request_id"]
        self.function_name: str = request["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = request["function_arn"]
        self.memory_limit_in_mb: int = int(request["memory"])
        self.log_group_name: str = f"/aws/lambda/{self.function_name}"
        self.log_stream_name: str = request["log_stream"]
        self._deadline_ms: float = float(request["deadline_ms"])
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


def load_handler(spec: str) -> Callable[..., Any]:
    """``module:function``, ``path/to/file.py:function`` or Lambda's ``module.function``."""
    if ":" in spec:
        module_part, _, name = spec.rpartition(":")
    else:
        module_part, _, name = spec.rpartition(".")
    if module_part.endswith(".py") or "/" in module_part:
        path = os.path.abspath(module_part)
        mod_name = "_handler_" + os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(mod_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[mod_name] = module
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(module_part)
    handler: Callable[..., Any] = getattr(module, name)
    return handler


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # drop this bootstrap's own frame
    return {"ok": False, "errorType": error_type or type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_list(frames)}


def main() -> None:
    log_path = sys.argv[1]
    # The script's own directory (this package's modules: batch, store, ...) must not shadow the
    # user's modules; the project directory takes its place, as /var/task does on Lambda.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, os.getcwd())
    channel = os.fdopen(os.dup(1), "w")
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    handlers: dict[str, Callable[..., Any]] = {}
    for line in sys.stdin:
        request = json.loads(line)
        rid = request["request_id"]
        print(f"START RequestId: {rid} Version: $LATEST")
        t0 = time.perf_counter()
        response: dict[str, Any]
        try:
            handler = handlers.get(request["handler"])
            if handler is None:
                try:
                    handler = handlers[request["handler"]] = load_handler(request["handler"])
                except Exception as exc:
                    raise _ImportModuleError(f"Unable to import module '{request['handler']}': {exc}") from exc
            result = handler(request["event"], LambdaContext(request))
            try:
                response = {"ok": True, "result": json.loads(json.dumps(result))}
            except (TypeError, ValueError) as exc:
                response = _error(exc, "Runtime.MarshalError")
                response["errorMessage"] = f"Unable to marshal response: {exc}"
        except _ImportModuleError as exc:
            response = _error(exc, "Runtime.ImportModuleError")
        except Exception as exc:
            response = _error(exc)
            print(f"[ERROR] {response['errorType']}: {response['errorMessage']}")
            print("".join(traceback.format_exception(exc)), end="")
        duration = (time.perf_counter() - t0) * 1000
        print(f"END RequestId: {rid}")
        print(f"REPORT RequestId: {rid}\tDuration: {duration:.2f} ms\tBilled Duration: {int(duration) + 1} ms"
              f"\tMemory Size: {request['memory']} MB")
        sys.stdout.flush()
        sys.stderr.flush()
        channel.write(json.dumps(response) + "\n")
        channel.flush()


class _ImportModuleError(Exception):
    pass


if __name__ == "__main__":
    main()
