"""Choice rules: every comparison operator of the JSONPath Choice state, and JSONata Conditions.

A comparison whose operand has the wrong type is simply false (``NumericEquals`` on a string),
never an error; only a missing ``Variable`` is an error, except for ``IsPresent``.

>>> evaluate_rule({"Variable": "$.s", "StringMatches": "log-*.txt"}, {"s": "log-1.txt"}, None, {})
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from orchestrator.engine import jsonpath
from orchestrator.engine.dataflow import RUNTIME
from orchestrator.engine.errors import StatesError

_MISSING = object()


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def parse_timestamp(v: Any) -> datetime | None:
    """RFC 3339 timestamp with an explicit offset (``Z`` or ``±hh:mm``), else ``None``."""
    if not isinstance(v, str) or not _TIMESTAMP.fullmatch(v):
        return None
    text = v.replace("Z", "+00:00")
    m = re.match(r"(.*?\.)(\d+)(.*)", text)
    if m:  # Python accepts at most 6 fractional digits
        text = m.group(1) + m.group(2)[:6].ljust(6, "0") + m.group(3)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def string_matches(value: str, pattern: str) -> bool:
    """AWS's glob: ``*`` matches any run of characters; ``\\*`` and ``\\\\`` are literals."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.fullmatch("".join(out), value, re.S) is not None


def _cmp(kind: str, op: str) -> Callable[[Any, Any], bool]:
    def check(a: Any, b: Any) -> bool:
        x: Any
        y: Any
        if kind == "String":
            if not (isinstance(a, str) and isinstance(b, str)):
                return False
            x, y = a, b
        elif kind == "Numeric":
            if not (_is_number(a) and _is_number(b)):
                return False
            x, y = a, b
        elif kind == "Boolean":
            return isinstance(a, bool) and isinstance(b, bool) and op == "Equals" and a == b
        else:
            ta, tb = parse_timestamp(a), parse_timestamp(b)
            if ta is None or tb is None:
                return False
            x, y = ta, tb
        if op == "Equals":
            return bool(x == y)
        if op == "LessThan":
            return bool(x < y)
        if op == "GreaterThan":
            return bool(x > y)
        if op == "LessThanEquals":
            return bool(x <= y)
        return bool(x >= y)
    return check


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {}
for _kind in ("String", "Numeric", "Boolean", "Timestamp"):
    for _op in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals"):
        if _kind == "Boolean" and _op != "Equals":
            continue
        COMPARISONS[_kind + _op] = _cmp(_kind, _op)
COMPARISONS["StringMatches"] = lambda a, b: isinstance(a, str) and isinstance(b, str) and string_matches(a, b)

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: isinstance(v, str),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}

OPERATORS = frozenset(COMPARISONS) | {k + "Path" for k in COMPARISONS if k != "StringMatches"} | set(
    TYPE_TESTS) | {"IsPresent", "And", "Or", "Not"}


def _get(path: str, value: Any, context: Any, variables: Mapping[str, Any]) -> Any:
    try:
        return jsonpath.query(path, value, context=context, variables=variables)
    except jsonpath.PathError:
        return _MISSING


def evaluate_rule(rule: Mapping[str, Any], value: Any, context: Any,
                  variables: Mapping[str, Any]) -> bool:
    """Evaluate one JSONPath Choice rule (possibly nested And/Or/Not) against ``value``."""
    if "And" in rule:
        return all(evaluate_rule(r, value, context, variables) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(r, value, context, variables) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], value, context, variables)
    variable = rule.get("Variable")
    if not isinstance(variable, str):
        raise StatesError(RUNTIME, "A Choice rule needs a 'Variable' field")
    actual = _get(variable, value, context, variables)
    if "IsPresent" in rule:
        return (actual is not _MISSING) == bool(rule["IsPresent"])
    if actual is _MISSING:
        raise StatesError(RUNTIME, f"Invalid path '{variable}': The choice state's condition path "
                                   "references an invalid value.")
    for name, test in TYPE_TESTS.items():
        if name in rule:
            return test(actual) == bool(rule[name])
    for name, compare in COMPARISONS.items():
        if name in rule:
            return compare(actual, rule[name])
        path_name = name + "Path"
        if path_name in rule:
            expected = _get(rule[path_name], value, context, variables)
            if expected is _MISSING:
                raise StatesError(RUNTIME, f"Invalid path '{rule[path_name]}' : No results for path: "
                                           f"{jsonpath.normalized(jsonpath.parse(rule[path_name]))}")
            return compare(actual, expected)
    raise StatesError(RUNTIME, f"A Choice rule has no comparison operator: {sorted(rule)}")
