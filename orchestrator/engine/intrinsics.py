"""ASL intrinsic functions (``States.Format(...)`` and friends) for JSONPath states.

``evaluate_intrinsic`` parses a call string (cached, so a state run in a loop parses once), resolves
its path arguments and applies the function with AWS's results. AWS runs Java, so values that
become text follow Java: ``States.Format`` renders ``1.0`` as ``1.0``, ``1e21`` as ``1.0E21`` and
objects as ``{a=1, b=[]}`` (``Map.toString``); ``States.JsonToString`` writes Jackson's compact JSON.

Errors are ``StatesError``: a path argument that matches nothing is ``States.Runtime`` (as for any
JSONPath in a payload template); a function that cannot compute its result is
``States.IntrinsicFailure``. The cause is the part after AWS's ``An error occurred while executing
the state 'X' (entered at the event id #N).`` prefix, which the interpreter adds.

>>> evaluate_intrinsic("States.Format('Hello {}', $.name)", {"name": "Ana"}, {}, {})
'Hello Ana'
>>> evaluate_intrinsic("States.MathAdd($n, -1)", {}, {}, {"n": 3})
2
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, NamedTuple

from orchestrator.engine import jsonpath
from orchestrator.engine.errors import StatesError
from orchestrator.engine.values import json_type
from orchestrator.limits import INTRINSIC_INPUT_CHARS_MAX, INTRINSIC_RANGE_ITEMS_MAX

__all__ = [
    "IntrinsicSyntaxError",
    "evaluate_intrinsic",
    "intrinsic_problem",
    "is_intrinsic",
    "java_number_text",
    "java_random_double",
    "java_random_int",
    "json_equal",
    "parse_intrinsic",
    "to_java_json",
]

INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
RUNTIME: Final = "States.Runtime"

HASH_ALGORITHMS: Final[Mapping[str, str]] = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}

_CALL_START = re.compile(r"States\.([A-Za-z0-9]+)\s*\(")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ESCAPABLE: Final = "'{}\\"


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic call (AWS rejects it at CreateStateMachine)."""


# --------------------------------------------------------------------------- parse tree


# Named tuples, as in jsonpath: immutable, ~1.5 ms cheaper to import than frozen dataclasses;
# told apart with isinstance only.
class _Literal(NamedTuple):
    value: Any
    raw: str | None = None  # the text between the quotes, escapes kept (for States.Format)


class _Path(NamedTuple):
    path: str


class _Call(NamedTuple):
    name: str  # without the "States." prefix
    args: tuple[_Literal | _Path | _Call, ...]
    text: str


_Node = _Literal | _Path | _Call

# name -> (min args, max args or None for unbounded)
_ARITY: Final[Mapping[str, tuple[int, int | None]]] = {
    "Format": (1, None),
    "StringToJson": (1, 1),
    "JsonToString": (1, 1),
    "Array": (0, None),
    "ArrayPartition": (2, 2),
    "ArrayContains": (2, 2),
    "ArrayRange": (3, 3),
    "ArrayGetItem": (2, 2),
    "ArrayLength": (1, 1),
    "ArrayUnique": (1, 1),
    "Base64Encode": (1, 1),
    "Base64Decode": (1, 1),
    "Hash": (2, 2),
    "JsonMerge": (3, 3),
    "MathRandom": (2, 3),
    "MathAdd": (2, 2),
    "StringSplit": (2, 2),
    "UUID": (0, 0),
}


def is_intrinsic(s: str) -> bool:
    """True when ``s`` looks like an intrinsic call (``States.Name(`` ... ``)``).

    >>> is_intrinsic("States.UUID()"), is_intrinsic("$.a"), is_intrinsic("States.Nope")
    (True, False, False)
    """
    s = s.strip()
    return s.endswith(")") and _CALL_START.match(s) is not None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{what} at position {self.pos} in {self.text!r}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def call(self) -> _Call:
        start = self.pos
        m = _CALL_START.match(self.text, self.pos)
        if m is None:
            raise self.fail("expected an intrinsic function such as States.Format(")
        name = m.group(1)
        if name not in _ARITY:
            raise IntrinsicSyntaxError(f"unknown intrinsic function 'States.{name}' in {self.text!r}")
        self.pos = m.end()
        args: list[_Node] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                self.skip_ws()
                args.append(self.argument())
                self.skip_ws()
                c = self.peek()
                self.pos += 1
                if c == ")":
                    break
                if c != ",":
                    self.pos -= 1
                    raise self.fail("expected ',' or ')'")
        low, high = _ARITY[name]
        if len(args) < low or (high is not None and len(args) > high):
            want = str(low) if low == high else f"{low} or more" if high is None else f"{low} to {high}"
            raise IntrinsicSyntaxError(
                f"States.{name} takes {want} argument{'' if want == '1' else 's'}, got {len(args)} "
                f"in {self.text!r}"
            )
        return _Call(name, tuple(args), self.text[start : self.pos])

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def argument(self) -> _Node:
        c = self.peek()
        if c == "'":
            return self.string()
        if c == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return _Literal(value)
        m = _NUMBER.match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
            token = m.group(0)
            if any(ch in token for ch in ".eE"):
                return _Literal(float(token))
            return _Literal(int(token))
        raise self.fail("expected a string, number, boolean, null, path or intrinsic function")

    def string(self) -> _Literal:
        # AWS reserves ' { } \ inside string literals; a backslash makes the next one literal.
        self.pos += 1
        raw_start = self.pos
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.fail("unterminated string literal")
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] in _ESCAPABLE:
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if c == "'":
                raw = self.text[raw_start : self.pos]
                self.pos += 1
                return _Literal("".join(out), raw)
            out.append(c)
            self.pos += 1

    def path(self) -> _Path:
        # A path runs to the next ',' or ')' outside brackets and quotes.
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if quote:
                if c == "\\":
                    self.pos += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"":
                quote = c
            elif c in "[(":
                depth += 1
            elif c in "])":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            self.pos += 1
        return _Path(self.text[start : self.pos].strip())


@lru_cache(maxsize=2048)
def parse_intrinsic(expression: str) -> _Call:
    """Parse an intrinsic call once; raises ``IntrinsicSyntaxError`` on malformed text."""
    parser = _Parser(expression.strip())
    call = parser.call()
    parser.skip_ws()
    if parser.pos != len(parser.text):
        raise parser.fail("unexpected text after the closing ')'")
    return call


def intrinsic_problem(expression: str) -> str | None:
    """What is wrong with ``expression`` as an intrinsic call, or None; for definition checks.

    >>> intrinsic_problem("States.MathAdd(1)")
    "States.MathAdd takes 2 arguments, got 1 in 'States.MathAdd(1)'"
    """
    try:
        parse_intrinsic(expression)
    except IntrinsicSyntaxError as e:
        return str(e)
    return None


# --------------------------------------------------------------------------- paths

_SEGMENT = re.compile(
    r"""\.(?P<name>[^.\[\]\s]+)|\[\s*(?P<index>-?\d+)\s*\]|\[\s*'(?P<sq>(?:[^'\\]|\\.)*)'\s*\]|\[\s*"(?P<dq>(?:[^"\\]|\\.)*)"\s*\]"""
)
_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_MISSING: Final = object()


def _walk(value: Any, rest: str) -> Any:
    pos = 0
    while pos < len(rest):
        m = _SEGMENT.match(rest, pos)
        if m is None:
            raise _UnsupportedPath(rest[pos:])
        pos = m.end()
        if m.group("index") is not None:
            i = int(m.group("index"))
            if not isinstance(value, list) or not -len(value) <= i < len(value):
                return _MISSING
            value = value[i]
            continue
        key = m.group("name")
        if key is None:
            quoted = m.group("sq") if m.group("sq") is not None else m.group("dq")
            key = re.sub(r"\\(.)", r"\1", quoted)
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


class _UnsupportedPath(Exception):
    pass


def _default_resolve(path: str, input: Any, context: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
    """``$``/``$.a.b[0]``, ``$$.x`` and ``$var.x``; filters and wildcards need the caller's resolver."""
    if path.startswith("$$"):
        return _walk(context, path[2:])
    if path.startswith("$") and (len(path) == 1 or path[1] in ".["):
        return _walk(input, path[1:])
    m = _VARIABLE.match(path)
    if m is None:
        raise _UnsupportedPath(path)
    if m.group(1) not in variables:
        return _MISSING
    return _walk(variables[m.group(1)], path[m.end() :])


def _full_jsonpath(path: str, input: Any, context: Mapping[str, Any], variables: Mapping[str, Any]) -> Any:
    """Filters, wildcards and slices: defer to the engine's JSONPath module.

    Only after ``_walk`` has found the definite prefix: ``$.x[*].c`` with no ``x`` is "not found"
    here, where ``jsonpath.query`` alone would give ``[]``.
    """
    try:
        return jsonpath.query(path, input, context=context, variables=variables)
    except jsonpath.PathError as e:
        if e.missing:
            return _MISSING
        raise StatesError(RUNTIME, str(e)) from None


# --------------------------------------------------------------------------- Java text


def java_number_text(n: int | float) -> str:
    """A JSON number as Java prints it (``Double.toString`` for doubles, digits for integers).

    >>> [java_number_text(x) for x in (1, 1.0, 1.1, 1e7, 1e-4, 0.001, 1e21, -2.5e-10)]
    ['1', '1.0', '1.1', '1.0E7', '1.0E-4', '0.001', '1.0E21', '-2.5E-10']
    """
    if isinstance(n, bool):
        return "true" if n else "false"
    if isinstance(n, int):
        return str(n)
    if math.isnan(n):
        return "NaN"
    if math.isinf(n):
        return "Infinity" if n > 0 else "-Infinity"
    if n == 0:
        return "-0.0" if math.copysign(1.0, n) < 0 else "0.0"
    sign, digit_tuple, exp = Decimal(repr(n)).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    assert isinstance(exp, int)
    # repr gives the shortest round-tripping digits, as Java 19+ does; place the point Java's way.
    sci = len("".join(map(str, digit_tuple))) + exp - 1
    prefix = "-" if sign else ""
    if 1e-3 <= abs(n) < 1e7:
        if sci >= 0:
            whole = digits[: sci + 1].ljust(sci + 1, "0")
            frac = digits[sci + 1 :] or "0"
        else:
            whole = "0"
            frac = "0" * (-sci - 1) + digits
        return f"{prefix}{whole}.{frac}"
    return f"{prefix}{digits[0]}.{digits[1:] or '0'}E{sci}"


_JSON_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
_SHORT_ESCAPES: Final[Mapping[str, str]] = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _json_string(s: str) -> str:
    return (
        '"'
        + _JSON_ESCAPE.sub(lambda m: _SHORT_ESCAPES.get(m.group(0)) or f"\\u{ord(m.group(0)):04X}", s)
        + '"'
    )


def to_java_json(value: Any) -> str:
    """Compact JSON as Jackson writes it: no spaces, doubles via ``Double.toString``, no ASCII escaping.

    >>> to_java_json({"a": [1, 2.0, None], "b": "é"})
    '{"a":[1,2.0,null],"b":"é"}'
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, int | float):
        return java_number_text(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_json_string(str(k))}:{to_java_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(to_java_json(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {value!r}")


def _java_text(value: Any) -> str:
    """How States.Format renders one argument: Java's toString of the value (strings unquoted)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool | int | float):
        return java_number_text(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    return str(value)


# java.util.Random: a 48-bit LCG. A seeded MathRandom/$random is deterministic, and AWS (Java)
# most likely draws from this generator, so we reproduce it rather than Python's Mersenne Twister.
_LCG_MULT: Final = 0x5DEECE66D
_LCG_MASK: Final = (1 << 48) - 1


class _JavaRandom:
    def __init__(self, seed: int) -> None:
        self.state = (seed ^ _LCG_MULT) & _LCG_MASK

    def next(self, bits: int) -> int:
        self.state = (self.state * _LCG_MULT + 0xB) & _LCG_MASK
        r = self.state >> (48 - bits)
        return r - (1 << 32) if bits == 32 and r >= (1 << 31) else r  # (int) cast: signed at 32 bits

    def next_int(self, bound: int) -> int:
        if bound & -bound == bound:
            return (bound * self.next(31)) >> 31
        while True:
            bits = self.next(31)
            val = bits % bound
            if bits - val + (bound - 1) < (1 << 31):
                return val

    def next_double(self) -> float:
        return ((self.next(26) << 27) + self.next(27)) * (1.0 / (1 << 53))


def java_random_int(start: int, end: int, seed: int | None) -> int:
    """An int in [start, end): ``new Random(seed).nextInt(end - start) + start`` when seeded.

    >>> java_random_int(0, 999, 3)
    239
    """
    if end <= start:
        return start
    if seed is None:
        import secrets

        return start + secrets.randbelow(end - start)
    span = end - start
    if span < (1 << 31):
        return start + _JavaRandom(seed).next_int(span)
    return start + int(_JavaRandom(seed).next_double() * span)


def java_random_double(seed: int | None) -> float:
    """A float in [0, 1): ``new Random(seed).nextDouble()`` when seeded.

    >>> java_random_double(42)
    0.7275636800328681
    """
    if seed is None:
        import random

        return random.random()
    return _JavaRandom(seed).next_double()


def java_round(x: float) -> int:
    """``Math.round``: half up towards positive infinity (2.5 -> 3, -2.5 -> -2)."""
    return math.floor(x + 0.5)


# --------------------------------------------------------------------------- evaluation


def _fail(name: str, detail: str) -> StatesError:
    return StatesError(INTRINSIC_FAILURE, f"Invalid arguments in States.{name}: {detail}")




def _want_str(name: str, v: Any, what: str) -> str:
    if not isinstance(v, str):
        raise _fail(name, f"{what} must be a string, but was {json_type(v)}: {to_java_json(v)}")
    return v


def _want_list(name: str, v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise _fail(name, f"{what} must be an array, but was {json_type(v)}: {to_java_json(v)}")
    return v


def _want_number(name: str, v: Any, what: str) -> int | float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise _fail(name, f"{what} must be a number, but was {json_type(v)}: {to_java_json(v)}")
    return v


def _want_int(name: str, v: Any, what: str) -> int:
    n = _want_number(name, v, what)
    if isinstance(n, float):
        if not n.is_integer():
            raise _fail(name, f"{what} must be an integer, but was {java_number_text(n)}")
        return int(n)
    return n


def _rounded(name: str, v: Any, what: str) -> int:
    # AWS: "If you specify a non-integer value ... Step Functions will round it off to the
    # nearest integer" (MathAdd, MathRandom, ArrayRange); Java rounds half up.
    n = _want_number(name, v, what)
    return java_round(n) if isinstance(n, float) else n


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality as Jackson's ``JsonNode.equals``: ``1 != 1.0``, ``true != 1``, order-free objects.

    >>> json_equal({"a": [1]}, {"a": [1]}), json_equal(1, 1.0), json_equal(True, 1)
    (True, False, False)
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, float) and isinstance(b, float):
        return a == b
    if isinstance(a, int | float) or isinstance(b, int | float):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _format(template: str, values: Sequence[Any], *, escaped: bool) -> str | None:
    """Fill ``{}`` from values; None when the counts differ. ``escaped``: honour ``\\{`` ``\\}``."""
    out: list[str] = []
    i = 0
    k = 0
    while i < len(template):
        c = template[i]
        if escaped and c == "\\" and i + 1 < len(template) and template[i + 1] in _ESCAPABLE:
            out.append(template[i + 1])
            i += 2
            continue
        if c == "{" and template.startswith("{}", i):
            if k >= len(values):
                return None
            out.append(_java_text(values[k]))
            k += 1
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out) if k == len(values) else None


def _check_length(name: str, s: str) -> None:
    if len(s) > INTRINSIC_INPUT_CHARS_MAX:
        raise _fail(name, f"the input string must be at most {INTRINSIC_INPUT_CHARS_MAX} characters, but was {len(s)}")


def _hash(name: str, data: Any, algorithm: Any) -> str:
    text = _want_str(name, data, "the data to hash")
    _check_length(name, text)
    algo = _want_str(name, algorithm, "the hash algorithm")
    if algo not in HASH_ALGORITHMS:
        raise _fail(name, f"the hash algorithm must be one of {', '.join(HASH_ALGORITHMS)}, but was '{algo}'")
    return hashlib.new(HASH_ALGORITHMS[algo], text.encode("utf-8")).hexdigest()


def _string_to_json(name: str, s: Any) -> Any:
    text = _want_str(name, s, "the argument")
    if not text.strip():
        return None  # AWS (Jackson) reads an empty or blank string as null

    def reject(token: str) -> Any:
        raise ValueError(f"invalid number {token}")

    try:
        return json.loads(text, parse_constant=reject)
    except ValueError as e:
        raise _fail(name, f"the string is not valid JSON: {text}") from e


def _partition(name: str, array: Any, size: Any) -> list[list[Any]]:
    items = _want_list(name, array, "the first argument")
    chunk = _want_int(name, size, "the chunk size")
    if chunk <= 0:
        raise _fail(name, f"the chunk size must be greater than 0, but was {chunk}")
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _range(name: str, first: Any, last: Any, step: Any) -> list[int]:
    a = _rounded(name, first, "the start")
    b = _rounded(name, last, "the end")
    s = _rounded(name, step, "the step")
    if s == 0:
        raise _fail(name, "the step must not be 0")
    count = max(0, (b - a) // s + 1)
    if count > INTRINSIC_RANGE_ITEMS_MAX:
        raise _fail(name, f"the range must have at most {INTRINSIC_RANGE_ITEMS_MAX} items, but would have {count}")
    return [a + i * s for i in range(count)]


def _apply(name: str, call: _Call, args: list[Any]) -> Any:
    if name == "Format":
        first = call.args[0]
        template = _want_str(name, args[0], "the format string")
        raw = first.raw if isinstance(first, _Literal) and first.raw is not None else None
        result = _format(raw if raw is not None else template, args[1:], escaped=raw is not None)
        if result is None:
            raise _fail(name, "the number of arguments does not match the number of '{}' placeholders")
        return result
    if name == "StringToJson":
        return _string_to_json(name, args[0])
    if name == "JsonToString":
        return to_java_json(args[0])
    if name == "Array":
        return list(args)
    if name == "ArrayPartition":
        return _partition(name, args[0], args[1])
    if name == "ArrayContains":
        return any(json_equal(x, args[1]) for x in _want_list(name, args[0], "the first argument"))
    if name == "ArrayRange":
        return _range(name, args[0], args[1], args[2])
    if name == "ArrayGetItem":
        items = _want_list(name, args[0], "the first argument")
        index = _want_int(name, args[1], "the index")
        if not 0 <= index < len(items):
            raise _fail(name, f"the index {index} is out of bounds for an array of length {len(items)}")
        return items[index]
    if name == "ArrayLength":
        return len(_want_list(name, args[0], "the argument"))
    if name == "ArrayUnique":
        unique: list[Any] = []
        for x in _want_list(name, args[0], "the argument"):
            if not any(json_equal(x, u) for u in unique):
                unique.append(x)
        return unique
    if name == "Base64Encode":
        text = _want_str(name, args[0], "the argument")
        _check_length(name, text)
        return base64.b64encode(text.encode("utf-8")).decode("ascii")
    if name == "Base64Decode":
        text = _want_str(name, args[0], "the argument")
        _check_length(name, text)
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError) as e:
            raise _fail(name, f"the argument is not valid Base64: {text}") from e
    if name == "Hash":
        return _hash(name, args[0], args[1])
    if name == "JsonMerge":
        left = args[0]
        right = args[1]
        if not isinstance(left, dict) or not isinstance(right, dict):
            bad = left if not isinstance(left, dict) else right
            raise _fail(
                name,
                f"both arguments to merge must be objects, but got {json_type(bad)}: {to_java_json(bad)}",
            )
        if args[2] is not False:
            # AWS supports only the shallow merge: the third argument must be false.
            raise _fail(name, f"the deep merge flag must be false, but was {to_java_json(args[2])}")
        return {**left, **right}
    if name == "MathRandom":
        start = _rounded(name, args[0], "the start")
        end = _rounded(name, args[1], "the end")
        seed = _rounded(name, args[2], "the seed") if len(args) == 3 else None
        if end <= start:
            # Java's Random.nextInt(end - start) refuses a bound that is not positive.
            raise _fail(name, f"the end ({end}) must be greater than the start ({start})")
        return java_random_int(start, end, seed)
    if name == "MathAdd":
        return _rounded(name, args[0], "the first argument") + _rounded(name, args[1], "the second argument")
    if name == "StringSplit":
        text = _want_str(name, args[0], "the string to split")
        delimiters = _want_str(name, args[1], "the delimiter")
        # Java StringTokenizer: every character of the delimiter splits, and empty tokens vanish.
        if not delimiters:
            return [text] if text else []
        pattern = "[" + re.escape(delimiters) + "]+"
        return [t for t in re.split(pattern, text) if t]
    if name == "UUID":
        return str(uuid.uuid4())
    raise AssertionError(f"unhandled intrinsic States.{name}")  # the parser admits only _ARITY names


def evaluate_intrinsic(
    expression: str,
    input: Any,
    context: Mapping[str, Any],
    variables: Mapping[str, Any],
    *,
    resolve_path: Callable[[str], Any] | None = None,
    field: str | None = None,
) -> Any:
    """Evaluate an intrinsic call such as ``States.Format('{} {}', $.a, States.UUID())``.

    ``resolve_path`` (optional) resolves a path argument (``$.a``, ``$$.x``, ``$var.x``) and raises
    ``LookupError`` when it matches nothing; by default a small resolver handles dots, ``[n]`` and
    ``['key']``. ``field`` names the ASL field (``"greeting.$"``) for the error cause.

    >>> evaluate_intrinsic("States.ArrayGetItem(States.StringSplit($$.Id, ':'), 1)", {}, {"Id": "a:b"}, {})
    'b'
    """
    try:
        call = parse_intrinsic(expression)
    except IntrinsicSyntaxError as e:
        raise StatesError(
            RUNTIME,
            f"The value for the field '{field or expression}' must be a valid intrinsic function call: {e}",
        ) from None

    def resolve(path: str) -> Any:
        if resolve_path is not None:
            try:
                return resolve_path(path)
            except LookupError:
                value: Any = _MISSING
        else:
            try:
                value = _default_resolve(path, input, context, variables)
            except _UnsupportedPath:
                value = _full_jsonpath(path, input, context, variables)
        if value is _MISSING:
            where = f" specified for the field '{field}'" if field else ""
            source = context if path.startswith("$$") else input
            raise StatesError(
                RUNTIME,
                f"The JSONPath '{path}'{where} could not be found in the input '{to_java_json(source)}'",
            )
        return value

    def run(node: _Call) -> Any:
        args = [
            a.value if isinstance(a, _Literal) else resolve(a.path) if isinstance(a, _Path) else run(a)
            for a in node.args
        ]
        return _apply(node.name, node, args)

    return run(call)
