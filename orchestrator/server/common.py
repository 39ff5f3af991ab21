"""What the API's operations share: ARNs, names and definitions checked as AWS checks them, epoch
dates, page tokens, and history events in GetExecutionHistory's shape.

Each check raises ``ServiceError`` with AWS's error code and message.

    >>> arn_parts("arn:aws:states:us-east-1:123456789012:stateMachine:m", ("stateMachine",))[6]
    'm'
    >>> arn_parts("arn:aws:states:us-east-1:123456789012:execution:m:x", ("stateMachine",))
    Traceback (most recent call last):
    ...
    orchestrator.server.errors.ServiceError: InvalidArn: Invalid Arn: 'Resource type not valid in this context: execution'
    >>> paginate([1, 2, 3], {"maxResults": 2}, "demo", "")[0]
    [1, 2]
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from orchestrator.engine.validate import validate_definition
from orchestrator.errors import DefinitionError
from orchestrator.limits import STATE_MACHINE_NAME_MAX
from orchestrator.server.errors import ServiceError
from orchestrator.spec.checks import STATE_MACHINE_NAME_FORBIDDEN

# Step Functions' page sizes: maxResults 0 (or none) means the default of 100, at most 1000.
DEFAULT_PAGE = 100


def epoch(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# -- ARNs ----------------------------------------------------------------------------------------


def arn_parts(arn: str, kinds: Sequence[str]) -> list[str]:
    """The ``:``-separated parts of a Step Functions ARN whose resource type is one of ``kinds``."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states":
        raise ServiceError("InvalidArn", f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
    if parts[5] not in kinds:
        raise ServiceError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {parts[5]}'")
    return parts


def check_name(name: str, what: str) -> None:
    if not name or len(name) > STATE_MACHINE_NAME_MAX or STATE_MACHINE_NAME_FORBIDDEN.search(name):
        raise ServiceError("InvalidName", f"Invalid Name: '{name}' ({what} names are 1-{STATE_MACHINE_NAME_MAX} "
                           "characters without whitespace, brackets, wildcards, \"#%\\^|~`$&,;:/ or control characters)")


def check_role(role_arn: str) -> None:
    parts = role_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise ServiceError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {role_arn}'")


def parse_definition(text: str) -> dict[str, Any]:
    """The definition as a dict, or InvalidDefinition with every problem the validator finds."""
    try:
        definition = json.loads(text)
    except ValueError as exc:
        raise ServiceError("InvalidDefinition",
                           f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {exc}'") from None
    if not isinstance(definition, dict):
        raise ServiceError("InvalidDefinition",
                           "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: the definition is not "
                           "a JSON object'")
    try:
        validate_definition(definition)
    except DefinitionError as exc:
        text = ", ".join(p.render().replace("\n", " ") for p in exc.problems)
        raise ServiceError("InvalidDefinition",
                           f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {text}'") from None
    return definition


# -- page tokens ---------------------------------------------------------------------------------


def token(kind: str, key: str, position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([kind, key, position]).encode()).decode()


def position(token: str | None, kind: str, key: str) -> int:
    """Where a page starts: 0, or what ``token`` (from the previous page of the same listing) says."""
    if token is None:
        return 0
    try:
        found = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(found, list) and found[:2] == [kind, key] and isinstance(found[2], int) and found[2] >= 0:
            return int(found[2])
    except (ValueError, binascii.Error, IndexError):
        pass
    raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")


def paginate(items: list[Any], request: Mapping[str, Any], kind: str, key: str) -> tuple[list[Any], str | None]:
    start = position(request.get("nextToken"), kind, key)
    size = int(request.get("maxResults") or DEFAULT_PAGE)
    page = items[start:start + size]
    more = start + size < len(items)
    return page, token(kind, key, start + size) if more else None


def paged(key: str, items: list[Any], token: str | None) -> dict[str, Any]:
    """A List* response: ``items`` under ``key``, and ``nextToken`` only when there is more."""
    response: dict[str, Any] = {key: items}
    if token:
        response["nextToken"] = token
    return response


def api_event(event: Mapping[str, Any], include_data: bool) -> dict[str, Any]:
    """A stored history event in GetExecutionHistory's shape (epoch timestamp; data left out if asked)."""
    out = dict(event)
    out["timestamp"] = epoch(str(event["timestamp"]))
    if not include_data:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, Mapping):
                out[key] = {k: v for k, v in details.items() if k not in ("input", "output")}
    return out
