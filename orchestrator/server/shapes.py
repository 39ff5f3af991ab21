"""The Step Functions API as botocore describes it: operations, request shapes, error codes.

botocore ships AWS's machine-readable model of every service (the same file the SDKs are
generated from), so the endpoint takes its operations and constraints from there instead of a
hand-kept list. A request is checked the way AWS's front end checks it, and answered with the
same two error kinds:

- a JSON value of the wrong type (a string where an integer belongs, a list for a structure) is a
  ``SerializationException``: AWS could not even read the request;
- a readable request that breaks a constraint — a missing required member, a string too long or
  too short, not matching its pattern, a value outside its enum, a number out of range — is a
  ``ValidationException`` listing every violation, in AWS's words ("1 validation error detected:
  Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null").

Members the model does not know are ignored, as AWS does.

    >>> api = ApiModel.load()
    >>> api.validate("ListExecutions", {"maxResults": 5000})
    Traceback (most recent call last):
    ...
    orchestrator.server.errors.ServiceError: ValidationException: 1 validation error detected: \
Value '5000' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any

import botocore.session

from orchestrator.server.errors import ServiceError

SERVICE = "stepfunctions"


class ApiModel:
    """botocore's service model of Step Functions, with a request validator over it."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.target_prefix = str(model.metadata["targetPrefix"])  # "AWSStepFunctions"
        self.signing_name = str(model.signing_name)  # "states", the SigV4 service name
        self.operations = frozenset(model.operation_names)
        self.error_codes = frozenset(
            str(shape.metadata.get("error", {}).get("code") or name)
            for name in model.shape_names
            for shape in [model.shape_for(name)] if shape.metadata.get("exception"))

    @classmethod
    @functools.cache
    def load(cls) -> ApiModel:
        """The model of the installed botocore (loaded once per process: it is ~1 MB of JSON)."""
        return cls(botocore.session.get_session().get_service_model(SERVICE))

    def errors_of(self, operation: str) -> frozenset[str]:
        """The error codes the model lists for ``operation``."""
        return frozenset(e.name for e in self.model.operation_model(operation).error_shapes)

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Raise ``ServiceError`` (SerializationException or ValidationException) for a bad request."""
        shape = self.model.operation_model(operation).input_shape
        if shape is None:
            return
        problems = list(_check(shape, params, ""))
        if problems:
            raise ServiceError("ValidationException", f"{len(problems)} validation error"
                               f"{'s' if len(problems) != 1 else ''} detected: " + "; ".join(problems))


def _show(value: Any, meta: dict[str, Any] | None = None) -> str:
    if meta and meta.get("sensitive"):
        return "'*** Sensitive Data Redacted ***'"  # AWS never echoes a sensitive member's value
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value)
    return f"'{text if len(text) <= 100 else text[:100] + '...'}'"


_JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "blob": (str,), "boolean": (bool,), "integer": (int,), "long": (int,),
               "float": (int, float), "double": (int, float), "timestamp": (int, float, str),
               "structure": (dict,), "map": (dict,), "list": (list,)}
_NAMES = {"string": "a string", "blob": "a base64 string", "boolean": "a boolean", "integer": "an integer",
          "long": "an integer", "float": "a number", "double": "a number", "timestamp": "a timestamp",
          "structure": "an object", "map": "an object", "list": "an array"}


@functools.cache
def _pattern(text: str) -> re.Pattern[str] | None:
    # The model's patterns are Java regular expressions; the few Python cannot read (\p{...}
    # classes) are not checked rather than checked wrongly.
    try:
        return re.compile(text)
    except re.error:
        return None


def _type_error(shape: Any, value: Any, where: str) -> ServiceError:
    got = "null" if value is None else type(value).__name__.replace("str", "string").replace("dict", "object")
    return ServiceError("SerializationException",
                        f"Unexpected value at '{where or '$'}': expected {_NAMES.get(shape.type_name, shape.type_name)}"
                        f", got {got.replace('list', 'array').replace('bool', 'boolean')}.")


def _check(shape: Any, value: Any, where: str) -> Iterator[str]:
    kind = shape.type_name
    allowed = _JSON_TYPES.get(kind, (object,))
    typed = isinstance(value, allowed)  # a separate name keeps ``value`` typed Any for what follows
    if not typed or (kind in ("integer", "long", "float", "double") and isinstance(value, bool)):
        raise _type_error(shape, value, where)
    meta = shape.metadata
    if kind == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                yield f"Value null at '{_join(where, name)}' failed to satisfy constraint: Member must not be null"
        for name, member in shape.members.items():
            if value.get(name) is not None:
                yield from _check(member, value[name], _join(where, name))
        return
    if kind == "list":
        yield from _length(meta, len(value), value, where, "length")
        for i, item in enumerate(value, 1):
            yield from _check(shape.member, item, f"{_join(where, str(i))}.member")
        return
    if kind == "map":
        yield from _length(meta, len(value), value, where, "length")
        for key, item in value.items():
            yield from _check(shape.value, item, _join(where, key))
        return
    if kind == "string":
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            yield (f"Value {_show(value)} at '{where}' failed to satisfy constraint: Member must satisfy enum value "
                   f"set: [{', '.join(enum)}]")
            return
        yield from _length(meta, len(value), value, where, "length")
        pattern = _pattern(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None and pattern.fullmatch(value) is None:
            yield (f"Value {_show(value, meta)} at '{where}' failed to satisfy constraint: Member must satisfy regular "
                   f"expression pattern: {meta['pattern']}")
        return
    if kind in ("integer", "long"):
        yield from _length(meta, value, str(value), where, "value")


def _length(meta: dict[str, Any], measure: int, value: Any, where: str, what: str) -> Iterator[str]:
    if "min" in meta and measure < meta["min"]:
        yield (f"Value {_show(value, meta)} at '{where}' failed to satisfy constraint: Member must have {what} greater "
               f"than or equal to {meta['min']}")
    if "max" in meta and measure > meta["max"]:
        yield (f"Value {_show(value, meta)} at '{where}' failed to satisfy constraint: Member must have {what} less than "
               f"or equal to {meta['max']}")


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
