"""Checking a spec document against ``workflow.schema.json`` and rewording what jsonschema finds.

The schema is the contract outside tools read; raw jsonschema messages ("'x' is not of type
'integer'") are not what a user should see, so each error becomes an ``Issue`` at the path it
concerns, worded like the semantic checks and with a fix.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: jsonschema alone takes ~0.1 s to import, and a valid
    # spec never needs it (see is_valid)
    import jsonschema
    import jsonschema_rs

from orchestrator.errors import closest
from orchestrator.spec.issues import Issue, Path, kind_of, quote, show

_TYPE_WORDS = {
    "string": "a string", "integer": "a whole number", "number": "a number", "object": "a mapping",
    "array": "a list", "boolean": "true or false", "null": "null",
}

# What to write for a required field that is missing, keyed by the field's name.
REQUIRED_EXAMPLES = {
    "name": 'name: "nightly-sales"',
    "tasks": 'tasks:\n  - name: "hello"\n    batch: {image: "alpine:3", command: ["echo", "hi"]}',
    "image": 'image: "python:3.12-slim"',
    "handler": 'handler: "lambdas.checks:freshness"',
    "function": 'function: "jobs.daily:run"',
    "expression": 'expression: "cron(0 2 * * ? *)"',
    "actions": 'actions: ["s3:GetObject"]',
}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The workflow JSON Schema (2020-12) shipped with the package."""
    text = resources.files("orchestrator.spec").joinpath("workflow.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


@lru_cache(maxsize=1)
def _quick_validator() -> jsonschema_rs.Validator:
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema())


# Characters on which Python's ``re`` (what jsonschema uses, and what the messages below were
# written against) and jsonschema-rs's regex engine read the schema's patterns differently *and*
# jsonschema-rs is the one that accepts: Python counts U+001C-U+001F and U+0085 as whitespace, so
# they fail ``\S``, and jsonschema-rs counts U+FEFF as whitespace, so it passes ``\s*``. Found
# by trying every code point against every pattern of the schema; ``tests/test_spec_schema.py``
# repeats that check. In JSON text, U+001C-U+001F are always escaped.
_ENGINES_DIFFER = re.compile(r"\\u001[c-f]|[\x85\ufeff]")


def is_valid(document: Any, *, engines_agree: bool = False) -> bool:
    """Whether ``document`` passes the schema, decided in milliseconds where that is certain.

    jsonschema takes about a second for a 10,000-task spec; jsonschema-rs says valid or not in a
    few milliseconds, but reads regular expressions with a different engine. So it decides alone
    only when the document holds none of the few characters the engines disagree on, and only
    that a document is valid: when it is not, :func:`schema_issues` asks jsonschema what is wrong,
    so every message stays as before. False also means "not decided here". ``engines_agree``
    says the caller already knows, from the text the document was read from, that it holds none
    of those characters (see ``loader._engines_agree``), so they are not looked for again.

        >>> is_valid({"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}}]})
        True
        >>> is_valid({"name": "hello", "tasks": []})
        False
    """
    try:
        # The JSON text of the document: control characters are escaped in it, which the
        # pattern above expects. A document that is not JSON data (a YAML date, a set) or that
        # jsonschema-rs cannot take is left to jsonschema.
        if not engines_agree and _ENGINES_DIFFER.search(json.dumps(document, ensure_ascii=False, default=str)):
            return False
        return bool(_quick_validator().is_valid(document))
    except (TypeError, ValueError, RecursionError, OverflowError):
        return False


def schema_issues(document: Any, *, engines_agree: bool = False) -> list[Issue]:
    """Every schema violation in ``document``, reworded; ``oneOf`` on a task's job is left to the
    semantic check, which can say which kinds were given. ``engines_agree``: see :func:`is_valid`."""
    if is_valid(document, engines_agree=engines_agree):
        return []
    issues: list[Issue] = []
    for error in _validator().iter_errors(document):
        issues.extend(_translate(error))
    return issues


def _key(path: Path) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "value"


def label(path: Path) -> str:
    """The last field of ``path`` with its list indexes: ``command[1]``, ``tasks[0]``, ``spec``."""
    suffix = ""
    for part in reversed(path):
        if isinstance(part, int):
            suffix = f"[{part}]" + suffix
        else:
            return part + suffix
    return "spec" + suffix


def _translate(error: jsonschema.ValidationError) -> list[Issue]:
    path: Path = tuple(error.absolute_path)
    value: Any = error.instance
    expected_value: Any = error.validator_value
    validator = error.validator
    spec = error.schema if isinstance(error.schema, dict) else {}
    key = _key(path)
    name = label(path)

    def issue(message: str, fix: str | None = None, at: Path = path) -> Issue:
        return Issue(at, message, fix)

    if validator == "type":
        expected = expected_value
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
        fix = None
        if "array" in names and isinstance(value, str):
            import shlex  # only a command written as one string needs it

            items = shlex.split(value) if key == "command" else [value]
            fix = f"{key}: [{', '.join(quote(i) for i in items)}]"
        elif names[0] in ("integer", "number") and isinstance(value, str) and _is_number(value):
            fix = f"{key}: {value.strip()}"
        elif names == ["string"] and isinstance(value, (int, float)) and not isinstance(value, bool):
            fix = f'{key}: "{value}"'
        elif "string" in names and isinstance(value, (date, datetime)):
            fix = f'{key}: "{value.isoformat()}"'
        return [issue(f"{name} must be {wanted}; got {kind_of(value)}, {show(value)}", fix)]
    if validator == "required":
        missing = [name for name in expected_value if name not in value]
        return [
            issue(f"required field {field!r} is missing", REQUIRED_EXAMPLES.get(field), at=path + (field,))
            for field in missing
        ]
    if validator == "additionalProperties":
        allowed = sorted(spec.get("properties", {}))
        out = []
        patterns = list(spec.get("patternProperties", {}))
        extras = [k for k in value if k not in allowed and not any(re.search(p, str(k)) for p in patterns)]
        for extra in sorted(extras, key=str):
            guess = closest(str(extra), allowed)
            if guess:
                message = f"unknown field {extra!r}; did you mean {guess!r}?"
                fix = f"rename {extra!r} to {guess!r}"
            else:
                message = f"unknown field {extra!r}"
                fix = f"remove it; the fields here are {', '.join(allowed)}"
            out.append(issue(message, fix, at=path + (extra,)))
        return out
    if validator == "enum":
        options = [str(option) for option in expected_value]
        guess = closest(str(value).upper(), [o.upper() for o in options])
        fix = f"{name}: {options[0]}"
        if guess:
            fix = next(f"{name}: {o}" for o in options if o.upper() == guess)
        return [issue(f"{name} must be one of {', '.join(options)}; got {show(value)}", fix)]
    if validator in ("minimum", "exclusiveMinimum", "maximum"):
        bound = expected_value
        word = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most"}[str(validator)]
        return [issue(f"{name} must be {word} {bound}; got {show(value)}", f"{key}: {bound}" if validator != "exclusiveMinimum" else None)]
    if validator == "minItems":
        return [issue(f"{name} must not be an empty list", REQUIRED_EXAMPLES.get(key))]
    if validator == "uniqueItems":
        seen: list[Any] = []
        dupes: list[Any] = []
        for item in value:
            (dupes if item in seen else seen).append(item)
        return [issue(f"{name} lists {show(dupes[0]) if dupes else 'an item'} more than once", f"{key}: [{', '.join(dict.fromkeys(str(v) for v in value))}]")]
    if validator in ("minLength", "maxLength"):
        if validator == "minLength":
            return [issue(f"{name} must not be empty", REQUIRED_EXAMPLES.get(key))]
        return [issue(f"{name} is {len(value)} characters; at most {expected_value} are allowed")]
    if validator == "pattern":
        description = spec.get("description")
        return [issue(f"{name} does not have the expected form{f' ({description})' if description else ''}; got {show(value)}")]
    if validator in ("oneOf", "anyOf"):
        return []  # the task's job kind: reported by checks.check_jobs with a better message
    return [issue(f"{name} is not valid: {error.message}")]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
