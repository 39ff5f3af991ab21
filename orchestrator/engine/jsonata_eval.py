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
* A failing expression reads "... threw an error during evaluation. T0410: Argument 1 of
  function "abs" does not match function signature": jsonata-js's code and text, which AWS
  shows; ``$eval`` is not bound.

Not copied (yet): a result of ``1/0`` (AWS answers the string "Infinity", we fail with D1001),
AWS's bounds on evaluation depth, time and memory, and JavaScript's number-to-string rules in
``$string`` (``1e20`` is ``"1e+20"`` here, ``"100000000000000000000"`` on AWS).

Compiled expressions are cached (LRU), so a state in a loop or a Map iteration parses once, and
plain references (``$states.input.a``) skip the evaluator. Causes are the text after AWS's ``An
error occurred while executing the state 'X' (entered at the event id #N).`` prefix, which the
interpreter adds; pass ``field`` to get the "specified for the field '...'" part.

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
import re
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
    java_random_double,
)
from orchestrator.engine.values import json_type

__all__ = [
    "QUERY_EVALUATION_ERROR",
    "UNDEFINED",
    "check_result_type",
    "evaluate_jsonata",
    "evaluate_template",
    "is_jsonata_expression",
    "jsonata_problem",
]

QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
_CACHE_SIZE: Final = 4096
# AWS bounds one JSONata value at about 873,782 numbers (its memory limit); $range stops there.
MAX_JSONATA_ITEMS: Final = 873_782
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
#
# How each one treats odd arguments follows what AWS answers (measured with TestState by the
# Floci project, github.com/floci-io/floci issues #2662/#2736): an undefined argument usually
# makes the result undefined, a wrong type is JSONata's T0410 signature error, a wrong value is
# D3137, a fractional number is cut towards zero, and surplus arguments are T0410 naming the
# first one. $random(seed) is java.util.Random: $random(42) is 0.7275636800328681 there too.


class _FunctionError(Exception):
    """One of the added functions failed; ``str`` is the cause tail (``CODE: message``)."""


def _signature_error(name: str, position: int) -> _FunctionError:
    return _FunctionError(
        f'T0410: Argument {position} of function "{name}" does not match function signature'
    )


def _arg(args: tuple[Any, ...], i: int) -> Any:
    """Argument ``i``; None when left out or undefined, JSON null stays NULL_VALUE."""
    return args[i] if i < len(args) else None


def _no_surplus(name: str, args: tuple[Any, ...], allowed: int) -> None:
    for i in range(allowed, len(args)):
        if args[i] is not None:
            raise _signature_error(name, i + 1)


def _py(v: Any) -> Any:
    """A JSONata value as plain JSON: NULL_VALUE -> None, sequences -> list."""
    if v is _NULL:
        return None
    if isinstance(v, list):
        return [_py(x) for x in v]
    if isinstance(v, dict):
        return {k: _py(x) for k, x in v.items()}
    return v


def _towards_zero(name: str, v: Any, position: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _signature_error(name, position)
    return int(v)  # int() truncates towards zero, as AWS does (-1.7 -> -1)


def _fn_partition(*args: Any) -> Any:
    _no_surplus("partition", args, 2)
    array = _arg(args, 0)
    if array is None:
        return None
    if not isinstance(array, list):
        raise _FunctionError('T0412: Argument 1 of function "partition" must be an array of undefined')
    if not array:
        return None
    if _arg(args, 1) is None:
        return [list(array)]
    size = _towards_zero("partition", args[1], 2)
    if size < 0:
        raise _FunctionError("D3137: Second argument must be zero or greater")
    if size == 0:
        return None
    return [list(array[i : i + size]) for i in range(0, len(array), size)]


def _fn_range(*args: Any) -> Any:
    _no_surplus("range", args, 3)
    start = _towards_zero("range", _arg(args, 0), 1)
    end = _towards_zero("range", _arg(args, 1), 2)
    if _arg(args, 2) is None:
        return None
    step = _towards_zero("range", args[2], 3)
    if step == 0 or (step > 0 and start > end) or (step < 0 and start < end):
        return None
    count = (end - start) // step + 1
    if count > MAX_JSONATA_ITEMS:
        raise _FunctionError(f"D3137: $range would build {count} items, more than {MAX_JSONATA_ITEMS}")
    # A sequence, not an array: JSONata unwraps a one-item sequence, as AWS does ($range(1,9,9) = 1).
    return Utils.create_sequence_from_iter(start + i * step for i in range(count))


def _fn_hash(*args: Any) -> Any:
    _no_surplus("hash", args, 2)
    data = _arg(args, 0)
    if not isinstance(data, str):
        raise _signature_error("hash", 1)
    algorithm = _arg(args, 1)
    if algorithm is None:
        return None
    if not isinstance(algorithm, str):
        raise _signature_error("hash", 2)
    if algorithm not in HASH_ALGORITHMS:
        raise _FunctionError(
            f"D3137: Hash algorithm '{algorithm}' must be one of SHA-1, SHA-384, SHA-256, SHA-512, MD5"
        )
    return hashlib.new(HASH_ALGORITHMS[algorithm], data.encode("utf-8")).hexdigest()


def _fn_random(*args: Any) -> Any:
    _no_surplus("random", args, 1)
    seed = _arg(args, 0)
    return java_random_double(None if seed is None else _towards_zero("random", seed, 1))


def _fn_uuid(*args: Any) -> Any:
    _no_surplus("uuid", args, 0)
    return str(uuid.uuid4())


def _reject_constant(token: str) -> Any:
    raise ValueError(f"invalid JSON number {token}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _fn_parse(*args: Any) -> Any:
    # Replaces $eval for JSON text; AWS's parser refuses blank text, trailing text and repeated keys.
    _no_surplus("parse", args, 1)
    text = _arg(args, 0)
    if text is None:
        return None
    if not isinstance(text, str):
        raise _signature_error("parse", 1)
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except ValueError:
        raise _FunctionError("D3137: Invalid JSON") from None
    return _NULL if value is None else value


_AWS_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = {
    "partition": _fn_partition,
    "range": _fn_range,
    "hash": _fn_hash,
    "random": _fn_random,
    "uuid": _fn_uuid,
    "parse": _fn_parse,
}


# --------------------------------------------------------------------------- evaluation


@lru_cache(maxsize=_CACHE_SIZE)
def _compile(expression: str) -> jsonata.Jsonata:
    compiled = jsonata.Jsonata(expression)
    compiled.set_output_convert_nulls(False)  # keep null (NULL_VALUE) apart from undefined (None)
    for name, fn in _AWS_FUNCTIONS.items():
        compiled.register_lambda(name, fn)
    # Step Functions removes $eval ($parse replaces it); calling it is JSONata's T1006 there.
    compiled.assign("eval", None)
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


# jsonata-js names the element type a signature wants; jsonata-python passes the signature letter.
_ARRAY_TYPES: Final[Mapping[str, str]] = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}
_CODE_BY_MESSAGE: Final[Mapping[str, str]] = {
    message.replace("Object", "function"): code
    for code, message in JException.error_codes.items()
    if "{{" not in message
}
_PLACEHOLDER = re.compile(r"\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}")


def _js_json(v: Any) -> str:
    """A value inside a message as jsonata-js writes it (``JSON.stringify``)."""
    if v is None:
        return "undefined"
    try:
        return json.dumps(_from_jsonata(v), separators=(",", ":"), ensure_ascii=False)
    except (_Unsupported, TypeError, ValueError):
        return str(v)


def _jsonata_message(e: JException) -> tuple[str, bool]:
    """The message jsonata-js (and so AWS) gives for ``e``, and whether it starts with a code.

    jsonata-python renders from a catalog ported via Java, where "function" became "Object" and
    inserted values are not JSON-quoted; AWS shows ``T0410: Argument 1 of function "abs" does
    not match function signature``, so we render the catalog entry ourselves.
    """
    code = str(getattr(e, "error", "") or "")
    template = JException.error_codes.get(code)
    if template is None:
        # Some library call sites throw the finished message in the code slot; give it the code
        # jsonata-js would have shown when the catalog has that exact sentence.
        known = _CODE_BY_MESSAGE.get(code.replace("Object", "function"))
        if known is None:
            return (code or str(e)), False
        return f"{known}: {code.replace('Object', 'function')}", True
    values = [getattr(e, "current", None), getattr(e, "expected", None), getattr(e, "extra", None)]
    if code == "T0412" and isinstance(values[2], str):
        values[2] = _ARRAY_TYPES.get(values[2], values[2])
    if template == "{{{message}}}":
        return str(values[0]), False
    position = iter(values)

    def fill(m: re.Match[str]) -> str:
        value = next(position, None)
        return str(value) if m.group(1) else _js_json(value)

    return f"{code}: {_PLACEHOLDER.sub(fill, template.replace('Object', 'function'))}", True


_NOT_A_NUMBER = re.compile(r"could not convert string to float: '(.*)'$")


def _python_error_message(e: Exception) -> tuple[str, bool]:
    m = _NOT_A_NUMBER.match(str(e))
    if m is not None:
        return f"D3030: Unable to cast value to a number: {_js_json(m.group(1))}", True
    if isinstance(e, ArithmeticError):
        return "D1001: Number out of range", True
    return str(e), False


def _threw(expression: str, field: str | None, message: str, coded: bool) -> StatesError:
    # AWS: "... threw an error during evaluation. T0410: ..." after a coded JSONata message,
    # "... threw an error during evaluation: <message>" before a bare one.
    return StatesError(
        QUERY_EVALUATION_ERROR,
        f"{_where(expression, field)} threw an error during evaluation{'. ' if coded else ': '}{message}",
    )


def _where(expression: str, field: str | None) -> str:
    return f"The JSONata expression '{expression}'" + (f" specified for the field '{field}'" if field else "")


def jsonata_problem(expression: str) -> str | None:
    """Why ``expression`` does not parse (AWS's wording, without the code), or None.

    AWS refuses such a definition at CreateStateMachine; this is for definition validation.

    >>> jsonata_problem("1 +")
    'Unexpected end of expression'
    """
    try:
        _compile(expression.strip())
    except JException as e:
        message, coded = _jsonata_message(e)
        return message.split(": ", 1)[1] if coded else message
    return None


# Most expressions in a workflow are plain references (``$states.input.order.id``, ``$count``);
# walking those directly is ~20x cheaper than a JSONata evaluation. Anything that is not a chain
# of object keys (an array on the way, a missing variable, a function name) takes the full path,
# and tests check both ways agree.
_SIMPLE_PATH = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_SLOW: Final = object()


def _simple_path(expression: str, bindings: Mapping[str, Any]) -> Any:
    names = expression[1:].split(".")
    if names[0] in bindings:
        value = bindings[names[0]]
    elif "$" + names[0] in bindings:
        value = bindings["$" + names[0]]
    else:
        return _SLOW
    for key in names[1:]:
        if type(value) is not dict:
            return _SLOW
        if key not in value:
            return UNDEFINED
        value = value[key]
    try:
        return _from_jsonata(value)
    except _Unsupported:
        return _SLOW


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
    if _SIMPLE_PATH.fullmatch(expression):
        fast = _simple_path(expression, bindings)
        if fast is not _SLOW:
            return fast
    try:
        compiled = _compile(expression)
    except JException as e:
        raise _threw(expression, field, *_jsonata_message(e)) from None
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
        raise _threw(expression, field, str(e), True) from None
    except JException as e:
        raise _threw(expression, field, *_jsonata_message(e)) from None
    except RecursionError:
        raise _threw(expression, field, *_jsonata_message(JException("D1011", -1))) from None
    except (ArithmeticError, ValueError, TypeError) as e:
        # jsonata-python lets Python errors out where jsonata-js throws a coded error ($number("x"),
        # 1/0, $power overflow, $sort of mixed types). They come from the user's expression, so
        # they fail the state like any JSONata error instead of crashing the engine.
        raise _threw(expression, field, *_python_error_message(e)) from None
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


def check_result_type(value: Any, expected: str, expression: str, field: str) -> Any:
    """Fail as AWS does when a field's expression gives the wrong JSON type (e.g. Map ``Items``).

    >>> check_result_type([1], "array", "$x", "Items")
    [1]
    """
    if value is UNDEFINED:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} returned nothing (undefined)."
        )
    actual = json_type(value)
    if actual != expected:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} returned an unexpected result type. "
            f"Expected '{expected}', but was '{actual}' for value: {_compact(value)}",
        )
    return value


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
