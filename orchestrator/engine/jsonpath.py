"""AWS's JSONPath: the subset of Jayway JsonPath that Step Functions accepts.

Hand-written rather than ``jsonpath_ng`` because the recorded AWS executions depend on Jayway's
rules, which jsonpath-ng does not follow: a *definite* path (names and indexes only) yields one
value or fails with "No results for path", while an *indefinite* one (wildcards, slices, unions,
filters, ``..``) always yields a list, possibly empty.

Roots: ``$`` (the input), ``$$`` (the context object) and ``$name`` (a variable).

>>> query("$.items[1:].v", {"items": [{"v": 1}, {"v": 2}, {"v": 3}]})
[2, 3]
>>> query("$.a.b", {"a": {"b": 7}})
7
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple


class PathError(Exception):
    """The path is malformed or, for a definite path, matches nothing."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


# Parse-tree nodes are named tuples rather than frozen dataclasses: as immutable, and a module
# import ~5 ms cheaper (each frozen slotted dataclass costs ~0.6 ms to create). Code tells them
# apart with isinstance only, never by equality.
class _Name(NamedTuple):
    names: tuple[str, ...]  # more than one: a union ['a','b']


class _Index(NamedTuple):
    indexes: tuple[int, ...]


class _Slice(NamedTuple):
    start: int | None
    stop: int | None
    step: int | None


class _Wild(NamedTuple):
    pass


class _Descend(NamedTuple):
    then: _Name | _Wild | _Index


class _Filter(NamedTuple):
    predicate: Callable[[Any, Any], bool]


class _Length(NamedTuple):
    pass


_Segment = _Name | _Index | _Slice | _Wild | _Descend | _Filter | _Length


class Path(NamedTuple):
    text: str
    root: str  # "$", "$$" or a variable name
    segments: tuple[_Segment, ...]

    @property
    def definite(self) -> bool:
        for s in self.segments:
            if isinstance(s, _Name) and len(s.names) > 1:
                return False
            if isinstance(s, _Index) and len(s.indexes) > 1:
                return False
            if isinstance(s, _Slice | _Wild | _Descend | _Filter):
                return False
        return True


_IDENT = re.compile(r"[^.\[\]\s()=<>!&|,'\"]+")
_VAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_CACHE: dict[str, Path] = {}


def parse(text: str) -> Path:
    """Parse a JSONPath once; results are cached since definitions reuse the same paths."""
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    path = _Parser(text).parse()
    if len(_CACHE) < 10_000:
        _CACHE[text] = path
    return path


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> PathError:
        return PathError(f"Invalid path '{self.text}': {why}")

    def parse(self) -> Path:
        t = self.text
        if t.startswith("$$"):
            root, self.pos = "$$", 2
        else:
            m = _VAR.match(t)
            if m:
                root, self.pos = m.group(1), m.end()
            elif t.startswith("$"):
                root, self.pos = "$", 1
            else:
                raise self.fail("a path must start with '$'")
        segments: list[_Segment] = []
        while self.pos < len(t):
            segments.append(self.segment())
        return Path(t, root, tuple(segments))

    def segment(self) -> _Segment:
        t = self.text
        if t.startswith("..", self.pos):
            self.pos += 2
            if t.startswith("*", self.pos):
                self.pos += 1
                return _Descend(_Wild())
            if t.startswith("[", self.pos):
                inner = self.bracket()
                if isinstance(inner, _Name | _Wild | _Index):
                    return _Descend(inner)
                raise self.fail("unsupported recursive descent")
            return _Descend(_Name((self.ident(),)))
        if t.startswith(".", self.pos):
            self.pos += 1
            if t.startswith("*", self.pos):
                self.pos += 1
                return _Wild()
            name = self.ident()
            if name == "length" and t.startswith("()", self.pos):
                self.pos += 2
                return _Length()
            return _Name((name,))
        if t.startswith("[", self.pos):
            return self.bracket()
        raise self.fail(f"unexpected character at position {self.pos}")

    def ident(self) -> str:
        m = _IDENT.match(self.text, self.pos)
        if not m:
            raise self.fail(f"expected a name at position {self.pos}")
        self.pos = m.end()
        return m.group(0)

    def bracket(self) -> _Segment:
        t = self.text
        self.pos += 1
        end = _matching_bracket(t, self.pos - 1)
        if end < 0:
            raise self.fail("unclosed '['")
        body = t[self.pos:end].strip()
        self.pos = end + 1
        if body == "*":
            return _Wild()
        if body.startswith("?(") and body.endswith(")"):
            return _Filter(_compile_filter(body[2:-1], self.text))
        if body.startswith("(") and body.endswith(")"):
            expr = body[1:-1].replace(" ", "")
            m = re.fullmatch(r"@\.length-(\d+)", expr)
            if m:
                return _Index((-int(m.group(1)),))
            raise self.fail(f"unsupported script expression {body}")
        if body.startswith(("'", '"')):
            return _Name(tuple(_split_quoted(body, self.text)))
        if ":" in body:
            parts = [p.strip() for p in body.split(":")]
            if len(parts) > 3:
                raise self.fail(f"bad slice [{body}]")
            nums = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
            return _Slice(nums[0], nums[1], nums[2])
        try:
            return _Index(tuple(int(p) for p in body.split(",")))
        except ValueError:
            raise self.fail(f"bad index [{body}]") from None


def _matching_bracket(t: str, start: int) -> int:
    depth, quote, i = 0, "", start
    while i < len(t):
        c = t[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _split_quoted(body: str, text: str) -> list[str]:
    names: list[str] = []
    i = 0
    while i < len(body):
        q = body[i]
        if q not in "'\"":
            raise PathError(f"Invalid path '{text}': expected a quoted name")
        j, buf = i + 1, []
        while j < len(body) and body[j] != q:
            # Jayway unescapes only the quote character itself; other backslashes are literal.
            if body[j] == "\\" and j + 1 < len(body) and body[j + 1] in (q, "\\"):
                j += 1
            buf.append(body[j])
            j += 1
        names.append("".join(buf))
        i = j + 1
        while i < len(body) and body[i] in ", ":
            i += 1
    return names


# --- filters -------------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<regex>/(?:[^/\\]|\\.)*/[a-z]*)|(?P<op>==|!=|<=|>=|=~|&&|\|\||<|>|!|\(|\)|\[|\]|,)
    |(?P<path>[@$](?:\.\.?[^\s=!<>&|()\[\],]+|\[[^\]]*\])*)|(?P<word>true|false|null|in|nin))""", re.X)

_MISSING = object()


def _compile_filter(expr: str, text: str) -> Callable[[Any, Any], bool]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        if expr[pos:].strip() == "":
            break
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise PathError(f"Invalid path '{text}': bad filter near '{expr[pos:]}'")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind).strip()))
        pos = m.end()
    parser = _FilterParser(tokens, text)
    fn = parser.disjunction()
    if parser.i != len(tokens):
        raise PathError(f"Invalid path '{text}': bad filter '{expr}'")
    return lambda item, root: bool(fn(item, root))


_Operand = Callable[[Any, Any], Any]


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.i = 0
        self.text = text

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def disjunction(self) -> _Operand:
        left = self.conjunction()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.conjunction()
            left = (lambda a, b: lambda x, r: _truthy(a(x, r)) or _truthy(b(x, r)))(left, right)
        return left

    def conjunction(self) -> _Operand:
        left = self.comparison()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.comparison()
            left = (lambda a, b: lambda x, r: _truthy(a(x, r)) and _truthy(b(x, r)))(left, right)
        return left

    def comparison(self) -> _Operand:
        if self.peek() == ("op", "!"):
            self.take()
            inner = self.comparison()
            return lambda x, r: not _truthy(inner(x, r))
        left = self.operand()
        kind, op = self.peek()
        if (kind == "op" and op in ("==", "!=", "<", "<=", ">", ">=", "=~")) or (
                kind == "word" and op in ("in", "nin")):
            self.take()
            right = self.operand()
            return lambda x, r: _compare(op, left(x, r), right(x, r))
        return lambda x, r: left(x, r) is not _MISSING and left(x, r) is not False
    def operand(self) -> _Operand:
        kind, val = self.take()
        if kind == "op" and val == "(":
            inner = self.disjunction()
            if self.take() != ("op", ")"):
                raise PathError(f"Invalid path '{self.text}': unbalanced parentheses in filter")
            return inner
        if kind == "op" and val == "[":
            items: list[_Operand] = []
            while self.peek() != ("op", "]"):
                items.append(self.operand())
                if self.peek() == ("op", ","):
                    self.take()
            self.take()
            return lambda x, r: [f(x, r) for f in items]
        if kind == "num":
            number: Any = float(val) if any(c in val for c in ".eE") else int(val)
            return lambda x, r: number
        if kind == "str":
            s = re.sub(r"\\(.)", r"\1", val[1:-1])
            return lambda x, r: s
        if kind == "regex":
            body, _, flags = val[1:].rpartition("/")
            rx = re.compile(body, re.I if "i" in flags else 0)
            return lambda x, r: rx
        if kind == "word" and val in ("true", "false", "null"):
            const = {"true": True, "false": False, "null": None}[val]
            return lambda x, r: const
        if kind == "path":
            sub = parse("$" + val[1:])
            at_item = val.startswith("@")

            def get(x: Any, r: Any) -> Any:
                try:
                    return evaluate(sub, x if at_item else r)
                except PathError:
                    return _MISSING
            return get
        raise PathError(f"Invalid path '{self.text}': unexpected '{val}' in filter")


def _truthy(v: Any) -> bool:
    return v is not _MISSING and v is not False and v is not None


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return op == "!=" and not (a is _MISSING and b is _MISSING)
    if op == "=~":
        return isinstance(a, str) and isinstance(b, re.Pattern) and b.fullmatch(a) is not None
    if op in ("in", "nin"):
        found = isinstance(b, list) and any(_json_equal(a, v) for v in b)
        return found if op == "in" else not found
    if op == "==":
        return _json_equal(a, b)
    if op == "!=":
        return not _json_equal(a, b)
    numbers = (isinstance(a, int | float) and not isinstance(a, bool)
               and isinstance(b, int | float) and not isinstance(b, bool))
    if not (numbers or (isinstance(a, str) and isinstance(b, str))):
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


# --- evaluation ----------------------------------------------------------------------------

def evaluate(path: Path, root: Any) -> Any:
    """Evaluate against ``root``: a value for a definite path, a list for an indefinite one."""
    if path.definite:
        value = root
        for i, seg in enumerate(path.segments):
            if isinstance(seg, _Length):
                if isinstance(value, list | str | dict):
                    value = len(value)
                    continue
                raise PathError(f"length() is not defined for {_type_name(value)}", missing=True)
            if isinstance(seg, _Name):
                name = seg.names[0]
                if isinstance(value, dict) and name in value:
                    value = value[name]
                    continue
                if i < len(path.segments) - 1:
                    # Jayway's wording when an inner property is missing, as AWS reports it.
                    prefix = Path(path.text, path.root, path.segments[: i + 1])
                    raise PathError(f"Missing property in path {normalized(prefix)}", missing=True)
                raise PathError(f"No results for path: {normalized(path)}", missing=True)
            assert isinstance(seg, _Index)
            idx = seg.indexes[0]
            if isinstance(value, list) and -len(value) <= idx < len(value):
                value = value[idx]
                continue
            raise PathError(f"No results for path: {normalized(path)}", missing=True)
        return value
    values = [root]
    for seg in path.segments:
        values = _step(seg, values, root)
    return values


def _step(seg: _Segment, values: list[Any], root: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(seg, _Name):
            if isinstance(v, dict):
                out.extend(v[n] for n in seg.names if n in v)
        elif isinstance(seg, _Index):
            if isinstance(v, list):
                out.extend(v[i] for i in seg.indexes if -len(v) <= i < len(v))
        elif isinstance(seg, _Slice):
            if isinstance(v, list):
                out.extend(v[seg.start:seg.stop:seg.step])
        elif isinstance(seg, _Wild):
            if isinstance(v, dict):
                out.extend(v.values())
            elif isinstance(v, list):
                out.extend(v)
        elif isinstance(seg, _Descend):
            for node in _descendants(v):
                out.extend(_step(seg.then, [node], root))
        elif isinstance(seg, _Filter):
            items = v if isinstance(v, list) else list(v.values()) if isinstance(v, dict) else []
            out.extend(i for i in items if seg.predicate(i, root))
        elif isinstance(seg, _Length) and isinstance(v, list | str | dict):
            out.append(len(v))
    return out


def _descendants(v: Any) -> list[Any]:
    out = [v]
    if isinstance(v, dict):
        for c in v.values():
            out.extend(_descendants(c))
    elif isinstance(v, list):
        for c in v:
            out.extend(_descendants(c))
    return out


def normalized(path: Path) -> str:
    """Jayway's normalized form used in AWS messages: ``$['a']['b'][0]``."""
    out = "$"
    for seg in path.segments:
        if isinstance(seg, _Name):
            out += "[" + ",".join(f"'{n}'" for n in seg.names) + "]"
        elif isinstance(seg, _Index):
            out += "[" + ",".join(str(i) for i in seg.indexes) + "]"
        elif isinstance(seg, _Wild):
            out += "[*]"
        elif isinstance(seg, _Length):
            out += ".length()"
        else:
            out += "[...]"
    return out


def _type_name(v: Any) -> str:
    return type(v).__name__


def query(text: str, data: Any, *, context: Any = None,
          variables: Mapping[str, Any] | None = None) -> Any:
    """Evaluate ``text`` with its root chosen by prefix: input, context object or variable."""
    path = parse(text)
    if path.root == "$":
        return evaluate(path, data)
    if path.root == "$$":
        return evaluate(path, context)
    if variables is None or path.root not in variables:
        raise PathError(f"Variable '{path.root}' is not defined", missing=True)
    return evaluate(path, variables[path.root])


def is_path(text: str) -> bool:
    """True when ``text`` parses as a JSONPath (used by definition validation)."""
    try:
        parse(text)
    except PathError:
        return False
    return True
