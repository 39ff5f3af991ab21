"""Data flow through a state: JSONPath fields and JSONata fields.

JSONPath states: ``InputPath`` → ``Parameters`` → (the state's work) → ``ResultSelector`` →
``ResultPath`` (merged into the *raw* state input) → ``OutputPath``; ``Assign`` is evaluated on the
state's result. JSONata states: ``Arguments`` → work → ``Assign`` and ``Output`` over
``$states.input`` / ``$states.result``. Every failure here is a ``StatesError`` with AWS's text;
the state runner prefixes the "An error occurred while executing the state ..." part.

>>> apply_result_path("$.a.b", {"x": 1}, 2)
{'x': 1, 'a': {'b': 2}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestrator.engine import intrinsics, jsonpath
from orchestrator.engine.errors import StatesError

RUNTIME = "States.Runtime"
QUERY_ERROR = "States.QueryEvaluationError"


def dumps(value: Any) -> str:
    """Compact JSON as AWS prints it in history events and error causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- JSONPath ------------------------------------------------------------------------------

def select(path: str | None, value: Any, field: str, *, context: Any,
           variables: Mapping[str, Any]) -> Any:
    """``InputPath`` / ``ItemsPath`` style reference path; ``None`` (JSON null) gives ``{}``."""
    if path is None:
        return {}
    try:
        return jsonpath.query(path, value, context=context, variables=variables)
    except jsonpath.PathError as e:
        if e.missing:
            raise StatesError(RUNTIME, f"The JSONPath '{path}' specified for the field '{field}' could "
                                       f"not be found in the input '{dumps(value)}'") from None
        raise StatesError(RUNTIME, str(e)) from None


def output_path(path: str | None, value: Any, *, context: Any, variables: Mapping[str, Any]) -> Any:
    if path is None:
        return {}
    if path == "$":
        return value
    try:
        return jsonpath.query(path, value, context=context, variables=variables)
    except jsonpath.PathError as e:
        if e.missing:
            raise StatesError(RUNTIME, f"Invalid path '{path}' : {e}") from None
        raise StatesError(RUNTIME, str(e)) from None


def evaluate_payload(template: Any, value: Any, *, context: Any, variables: Mapping[str, Any],
                     field: str = "Parameters") -> Any:
    """Evaluate a payload template: keys ending in ``.$`` take a path or intrinsic function."""
    if isinstance(template, dict):
        out: dict[str, Any] = {}
        for key, sub in template.items():
            if key.endswith(".$") and isinstance(sub, str):
                out[key[:-2]] = _dynamic(sub, key, value, context=context, variables=variables)
            else:
                out[key] = evaluate_payload(sub, value, context=context, variables=variables, field=field)
        return out
    if isinstance(template, list):
        return [evaluate_payload(v, value, context=context, variables=variables, field=field)
                for v in template]
    return template


def _dynamic(expr: str, key: str, value: Any, *, context: Any, variables: Mapping[str, Any]) -> Any:
    text = expr.strip()
    if text.startswith("$"):
        return select(text, value, key, context=context, variables=variables)
    if text.startswith("States."):
        return intrinsics.evaluate_intrinsic(text, value, context, variables)
    raise StatesError(RUNTIME, f"The value for the field '{key}' must be a valid JSONPath or a "
                               f"valid intrinsic function call: {expr}")


def apply_result_path(path: str | None, state_input: Any, result: Any, *, field: str = "ResultPath") -> Any:
    """Merge ``result`` into ``state_input`` at a definite reference path (new objects only)."""
    if path is None:
        return state_input
    if path == "$":
        return result
    parsed = jsonpath.parse(path)
    if parsed.root != "$" or not parsed.definite:
        raise StatesError(RUNTIME, f"Invalid ResultPath '{path}': it must be a reference path on '$'")
    keys: list[str | int] = []
    for seg in parsed.segments:
        names = getattr(seg, "names", None)
        indexes = getattr(seg, "indexes", None)
        if names is not None:
            keys.append(names[0])
        elif indexes is not None:
            keys.append(indexes[0])
        else:
            raise StatesError(RUNTIME, f"Invalid ResultPath '{path}'")
    return _set(state_input, keys, result, path, state_input)


def _set(node: Any, keys: list[str | int], result: Any, path: str, whole: Any) -> Any:
    if not keys:
        return result
    key, rest = keys[0], keys[1:]
    if isinstance(key, int):
        if isinstance(node, list) and -len(node) <= key < len(node):
            copy = list(node)
            copy[key] = _set(node[key], rest, result, path, whole)
            return copy
        raise StatesError(RUNTIME, f"Unable to apply ResultPath '{path}' to input '{dumps(whole)}'")
    if not isinstance(node, dict):
        raise StatesError(RUNTIME, f"Unable to apply step \"{key}\" to input {dumps(node)}")
    child = node.get(key, {}) if rest else None
    out = dict(node)
    out[key] = _set(child, rest, result, path, whole)
    return out


def assign_jsonpath(template: Mapping[str, Any], value: Any, *, context: Any,
                    variables: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Assign`` field of a JSONPath state: a payload template whose top keys are names."""
    evaluated = evaluate_payload(dict(template), value, context=context, variables=variables, field="Assign")
    assert isinstance(evaluated, dict)
    return evaluated


# --- JSONata -------------------------------------------------------------------------------

def is_jsonata_expr(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def jsonata(expr_text: str, bindings: Mapping[str, Any], field: str) -> Any:
    """Evaluate one ``{% ... %}`` string; an undefined result is an error, as on AWS."""
    # Imported here: the jsonata package costs ~17 ms and only a JSONata machine needs it.
    from orchestrator.engine import jsonata_eval

    expr = expr_text[2:-2].strip()
    result = jsonata_eval.evaluate_jsonata(expr, bindings, field=field)
    if result is jsonata_eval.UNDEFINED:
        raise StatesError(QUERY_ERROR, f"The JSONata expression '{expr}' specified for the field "
                                       f"'{field}' returned nothing (undefined).")
    return result


def jsonata_template(template: Any, bindings: Mapping[str, Any], field: str) -> Any:
    """Evaluate every ``{% %}`` string inside a JSON template; ``field`` names it in errors."""
    if is_jsonata_expr(template):
        return jsonata(template, bindings, field)
    if isinstance(template, dict):
        return {k: jsonata_template(v, bindings, f"{field}/{k}") for k, v in template.items()}
    if isinstance(template, list):
        return [jsonata_template(v, bindings, f"{field}[{i}]") for i, v in enumerate(template)]
    return template


def assign_jsonata(template: Mapping[str, Any], bindings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: jsonata_template(v, bindings, f"Assign/{k}") for k, v in template.items()}


def jsonata_number(value: Any, bindings: Mapping[str, Any], field: str) -> Any:
    """A numeric field (``Seconds``, ``MaxConcurrency`` ...) given literally or as ``{% %}``."""
    if is_jsonata_expr(value):
        return jsonata(value, bindings, field)
    return value
