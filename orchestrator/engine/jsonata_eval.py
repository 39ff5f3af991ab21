"""JSONata for ``QueryLanguage: JSONata`` states, on ``jsonata-python`` with AWS's additions.

``evaluate_jsonata`` runs the text inside ``{% ... %}``. Bindings are the variables by name
(``states`` for ``$states``, and each workflow variable), and Step Functions' extra functions are
in scope: ``$partition``, ``$range``, ``$hash``, ``$random``, ``$uuid`` and ``$parse``.

What AWS does and we copy:

* An undefined result (``$nosuch``) is not JSON; the caller decides what that means in its
  field, so ``evaluate_jsonata`` returns the ``UNDEFINED`` sentinel. ``evaluate_template`` raises
  AWS's ``States.QueryEvaluationError`` ("... returned nothing (undefined).") naming the field.
* JSONata numbers are JavaScript doubles: AWS returns ``7`` for ``$sum([1,2,3]) + 1`` and ``1``
  for an input ``1.0``, so integral results become ``int``.
* A function value (``function($x){$x}``) is "an unsupported result type".
* ``$range`` yields a sequence, so one item comes back bare: ``$range(1, 9, 9)`` is ``1``.

Compiled expressions are cached (LRU), so a state in a loop or a Map iteration parses once.
Causes are the text after AWS's ``An error occurred while executing the state 'X' (entered at
the event id #N).`` prefix, which the interpreter adds.

>>> evaluate_jsonata("$sum($states.input.v) + $bias", {"states": {"input": {"v": [1, 2]}}, "bias": 1})
4
>>> evaluate_jsonata("$nosuch", {}) is UNDEFINED
True
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final

import jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from orchestrator.engine.errors import StatesError
from orchestrator.engine.intrinsics import (
    HASH_ALGORITHMS,
    MAX_RANGE_ITEMS,
    java_random_double,
    to_java_json,
)

__all__ = [
    "QUERY_EVALUATION_ERROR",
    "UNDEFINED",
    "check_result_type",
    "evaluate_jsonata",
    "evaluate_template",
    "is_jsonata_expression",
    "json_type_name",
]

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
_CACHE_SIZE: Final = 4096
_NULL: Final = Utils.NULL_VALUE


class _Undefined:
    """JSONata's ``undefined``: no value at all (JSON has no way to write it)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()


def is_jsonata_expression(s: Any) -> bool:
    """AWS's rule: a string that starts with ``{%`` and ends with ``%}``, no surrounding spaces.

    >>> is_jsonata_expression("{% $x %}"), is_jsonata_expression(" {% $x %}"), is_jsonata_expression("{%%}")
    (True, False, True)
    """
    return isinstance(s, str) and len(s) >= 4 and s.startswith("{%") and s.endswith("%}")


def _strip(s: str) -> str:
    return s[2:-2].strip()


# --------------------------------------------------------------------------- AWS functions


class _FunctionError(Exception):
    """One of our added functions rejected its arguments."""


def _py(v: Any) -> Any:
    """A JSONata argument as plain JSON: NULL_VALUE -> None, sequences -> list."""
    if v is _NULL:
        return None
    if isinstance(v, list):
        return [_py(x) for x in v]
    if isinstance(v, dict):
        return {k: _py(x) for k, x in v.items()}
    return v


def _arity(name: str, args: tuple[Any, ...], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise _FunctionError(f"${name} takes {want} argument{'' if want == '1' else 's'}, got {len(args)}")


def _integer(name: str, v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _FunctionError(f"${name}: {what} must be an integer, but was {to_java_json(_py(v))}")
    if isinstance(v, float):
        if not v.is_integer():
            raise _FunctionError(f"${name}: {what} must be an integer, but was {v!r}")
        return int(v)
    return v


def _fn_partition(*args: Any) -> Any:
    _arity("partition", args, 2, 2)
    array = _py(args[0])
    if not isinstance(array, list):
        raise _FunctionError(
            f"$partition: the first argument must be an array, but was {to_java_json(array)}"
        )
    size = _integer("partition", args[1], "the chunk size")
    if size <= 0:
        raise _FunctionError(f"$partition: the chunk size must be greater than 0, but was {size}")
    return [array[i : i + size] for i in range(0, len(array), size)]


def _fn_range(*args: Any) -> Any:
    _arity("range", args, 3, 3)
    start = _integer("range", args[0], "the start")
    end = _integer("range", args[1], "the end")
    step = _integer("range", args[2], "the step")
    if step == 0:
        raise _FunctionError("$range: the step must not be 0")
    count = max(0, (end - start) // step + 1)
    if count > MAX_RANGE_ITEMS:
        raise _FunctionError(
            f"$range: the range must have at most {MAX_RANGE_ITEMS} items, but would have {count}"
        )
    if count == 0:
        return []
    # A sequence, not an array: JSONata unwraps a one-item sequence, as AWS does ($range(1,9,9) = 1).
    return Utils.create_sequence_from_iter(start + i * step for i in range(count))


def _fn_hash(*args: Any) -> Any:
    _arity("hash", args, 2, 2)
    data, algorithm = _py(args[0]), _py(args[1])
    if not isinstance(data, str):
        raise _FunctionError(f"$hash: the data to hash must be a string, but was {to_java_json(data)}")
    if algorithm not in HASH_ALGORITHMS:
        raise _FunctionError(
            f"$hash: the algorithm must be one of {', '.join(HASH_ALGORITHMS)}, but was {to_java_json(algorithm)}"
        )
    return hashlib.new(HASH_ALGORITHMS[algorithm], data.encode("utf-8")).hexdigest()


def _fn_random(*args: Any) -> Any:
    _arity("random", args, 0, 1)
    seed = None if not args or _py(args[0]) is None else _integer("random", args[0], "the seed")
    return java_random_double(seed)


def _fn_uuid(*args: Any) -> Any:
    _arity("uuid", args, 0, 0)
    return str(uuid.uuid4())


def _reject_constant(token: str) -> Any:
    raise ValueError(f"invalid JSON number {token}")


def _fn_parse(*args: Any) -> Any:
    _arity("parse", args, 1, 1)
    text = _py(args[0])
    if not isinstance(text, str):
        raise _FunctionError(f"$parse: the argument must be a string, but was {to_java_json(text)}")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as e:
        raise _FunctionError(f"$parse: the string is not valid JSON: {text}") from e
    return _NULL if value is None else value


def _fn_eval(*args: Any) -> Any:
    # Step Functions removes $eval; $parse is its replacement for JSON text.
    raise _FunctionError("$eval is not supported in Step Functions; use $parse to read JSON text")


_AWS_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = {
    "partition": _fn_partition,
    "range": _fn_range,
    "hash": _fn_hash,
    "random": _fn_random,
    "uuid": _fn_uuid,
    "parse": _fn_parse,
    "eval": _fn_eval,
}


# --------------------------------------------------------------------------- evaluation


@lru_cache(maxsize=_CACHE_SIZE)
def _compile(expression: str) -> jsonata.Jsonata:
    compiled = jsonata.Jsonata(expression)
    compiled.set_output_convert_nulls(False)  # keep null (NULL_VALUE) apart from undefined (None)
    for name, fn in _AWS_FUNCTIONS.items():
        compiled.register_lambda(name, fn)
    return compiled


class _Unsupported(Exception):
    pass


def _from_jsonata(v: Any) -> Any:
    """A JSONata result as JSON; integral doubles become ints, as JavaScript numbers print on AWS."""
    if v is None or v is _NULL:
        return None  # nested None is a JSON null that came from the input
    if isinstance(v, bool | str):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 2**63 else v
    if isinstance(v, int):
        return v
    if isinstance(v, dict):
        return {k: _from_jsonata(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_from_jsonata(x) for x in v]
    raise _Unsupported(type(v).__name__)


def _to_jsonata(v: Any) -> Any:
    # A variable bound to None would read as undefined; JSONata's null is NULL_VALUE. Nested
    # None inside objects and arrays is already read as null by jsonata-python.
    return _NULL if v is None else v


def _jexception_text(e: JException) -> str:
    # jsonata-python inherits "Object" for "function" from its Java port; say it the JSONata way.
    message = str(e).replace("of Object ", "of function ").replace("Object signature", "function signature")
    return f"{e.error}: {message}" if getattr(e, "error", None) else message


def _where(expression: str, field: str | None) -> str:
    return f"The JSONata expression '{expression}'" + (f" specified for the field '{field}'" if field else "")


def evaluate_jsonata(expression: str, bindings: Mapping[str, Any], *, field: str | None = None) -> Any:
    """Evaluate a JSONata expression (delimiters already stripped) with ``bindings`` as variables.

    Returns plain JSON (dict, list, str, int, float, bool, None) or ``UNDEFINED``; raises
    ``StatesError('States.QueryEvaluationError', cause)`` when the expression does not parse,
    throws, or yields a function. ``field`` (e.g. ``'Output/result'``) is named in the cause.

    >>> evaluate_jsonata("$partition([1, 2, 3], 2)", {})
    [[1, 2], [3]]
    >>> evaluate_jsonata("$states.input.x", {"states": {"input": {"x": 1.0}}})
    1
    """
    expression = expression.strip()
    try:
        compiled = _compile(expression)
    except JException as e:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} could not be parsed: {_jexception_text(e)}"
        ) from None
    # jsonata-python evaluates on a per-thread "current" instance; a shallow copy per call makes
    # the cached expression safe to share between threads (Map iterations) and re-entrant.
    instance = copy.copy(compiled)
    current = jsonata.Jsonata.CURRENT
    previous = getattr(current, "jsonata", None)
    current.jsonata = instance
    try:
        variables = {(k[1:] if k.startswith("$") else k): _to_jsonata(v) for k, v in bindings.items()}
        raw = instance.evaluate(None, variables)
    except _FunctionError as e:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} threw an error during evaluation: {e}"
        ) from None
    except JException as e:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} threw an error during evaluation: {_jexception_text(e)}",
        ) from None
    except RecursionError:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} threw an error during evaluation: stack overflow",
        ) from None
    finally:
        current.jsonata = previous
    if raw is None:
        return UNDEFINED
    try:
        return _from_jsonata(raw)
    except _Unsupported:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} returned an unsupported result type."
        ) from None


def evaluate_template(value: Any, bindings: Mapping[str, Any], *, field: str | None = None) -> Any:
    """Evaluate every ``{% %}`` string in a JSON template (Arguments, Output, Assign ...).

    Other values are copied unchanged. An expression that yields nothing fails the state as AWS
    does; ``field`` is the template's name (``'Output'``) and nested keys extend it
    (``'Output/result'``, list items ``'Items[1]'``).

    >>> evaluate_template({"a": "{% 1 + 1 %}", "b": ["x", "{% $v %}"]}, {"v": None}, field="Output")
    {'a': 2, 'b': ['x', None]}
    """
    if isinstance(value, str):
        if not is_jsonata_expression(value):
            return value
        expression = _strip(value)
        result = evaluate_jsonata(expression, bindings, field=field)
        if result is UNDEFINED:
            raise StatesError(
                QUERY_EVALUATION_ERROR, f"{_where(expression, field)} returned nothing (undefined)."
            )
        return result
    if isinstance(value, dict):
        return {
            k: evaluate_template(v, bindings, field=f"{field}/{k}" if field else k) for k, v in value.items()
        }
    if isinstance(value, list):
        return [evaluate_template(v, bindings, field=f"{field or ''}[{i}]") for i, v in enumerate(value)]
    return value


_TYPE_NAMES: Final[Mapping[type, str]] = {bool: "boolean", int: "number", float: "number", str: "string"}


def json_type_name(value: Any) -> str:
    """AWS's word for a JSON value's type: null, boolean, number, string, array, object."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def check_result_type(value: Any, expected: str, expression: str, field: str) -> Any:
    """Fail as AWS does when a field's expression gives the wrong JSON type (e.g. Map ``Items``).

    >>> check_result_type([1], "array", "$x", "Items")
    [1]
    """
    if value is UNDEFINED:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} returned nothing (undefined)."
        )
    actual = json_type_name(value)
    if actual != expected:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} returned an unexpected result type. "
            f"Expected '{expected}', but was '{actual}' for value: {_compact(value)}",
        )
    return value


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
