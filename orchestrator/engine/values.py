"""AWS's words for JSON value types, shared by every error message that names one.

    >>> [json_type(v) for v in (None, True, 1, 1.5, "a", [1], {"a": 1})]
    ['null', 'boolean', 'number', 'number', 'string', 'array', 'object']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def json_type(value: Any) -> str:
    """null, boolean, number, string, array or object (bool is tested before int on purpose)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__
