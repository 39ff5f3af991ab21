"""An ``Issue`` is a problem found at a JSON path of the spec document, before it is located.

``from_dict`` turns each into an ``errors.Problem`` whose ``where`` is ``file:line:column`` plus the
task and field, looked up from the path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    path: Path
    message: str
    fix: str | None = None


def show(value: object) -> str:
    """A value as the user wrote it in YAML/JSON terms: ``'2 hours'``, ``true``, ``null``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def kind_of(value: object) -> str:
    """What a value is, in spec words: 'a string', 'a list', 'a mapping', ..."""
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (date, datetime)):
        return "a date (YAML reads an unquoted date as one)"
    return type(value).__name__


def quote(text: str) -> str:
    """A string as a YAML/JSON double-quoted scalar, for fix snippets."""
    return json.dumps(text)
