"""The two JSON texts of a state machine: :func:`compact`, what is deployed and counted against
the quotas, and :func:`dumps`, the same indented for reading (the checked-in ``*.asl.json``).

Both are plain functions of the definition, and the definition of what the texts are. A Batch
task is ~80 JSON values, and serialising 10,000 of them one value at a time takes most of a
second, so the compiler writes the Task states of one kind from a stencil instead
(``emit.Writer``), and the tests compare what it writes with these two.

    >>> print(dumps({"a": [1, 2], "b": {"c": "d"}}), end="")
    {"a": [1, 2], "b": {"c": "d"}}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

LINE_WIDTH = 110

# Step Functions text is JSON with non-ASCII kept: the C encoder json.dumps itself uses for a
# str with ensure_ascii=False (a JSON string with its quotes).
encode_string: Callable[[str], str] = json.encoder.encode_basestring
_encode_str = encode_string
# json.dumps(value, ensure_ascii=False, separators=(",", ":")), without building an encoder per call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# The C encoder that JSONEncoder.encode builds on every call, built once: building it took more
# than encoding a small value (~3 of ~5 µs), and a big workflow's states hold thousands. Without
# the check for circular values: the compiler's are trees (a cycle would pass the recursion
# limit instead of raising ValueError).


def _compact_chunks() -> Callable[[Any, int], list[str]] | None:
    """The C encoder, or None without the C accelerator or where its (private) signature is not
    the one ``JSONEncoder.iterencode`` passes in 3.11-3.13: then ``_COMPACT.encode`` serves."""
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        chunks: Callable[[Any, int], list[str]] = make(None, _COMPACT.default, encode_string, None, ":", ",",
                                                      False, False, True)
        probe = {"a": [1, 2.5, None, True], "é": "\n"}
        return chunks if "".join(chunks(probe, 0)) == _COMPACT.encode(probe) else None
    except (TypeError, ValueError):
        return None


_COMPACT_CHUNKS = _compact_chunks()


def compact(definition: Any) -> str:
    """What is deployed: no whitespace at all, the builders' key order, UTF-8 kept. The C encoder
    writes it (10-20 ms for a 1 MB machine here), and the quotas are counted on it.

    >>> compact({"a": [1, 2], "b": {"c": "é"}})
    '{"a":[1,2],"b":{"c":"é"}}'
    """
    if _COMPACT_CHUNKS is None:
        return _COMPACT.encode(definition)
    return "".join(_COMPACT_CHUNKS(definition, 0))


def dumps(definition: Mapping[str, Any]) -> str:
    """The readable serialisation: 2-space indents, the builders' key order, UTF-8 kept, trailing
    newline; an object or array whose one-line form fits in :data:`LINE_WIDTH` columns stays on
    one line. Same input, same bytes.

    Collapsing short values keeps the files short enough to read: with plain ``indent=2`` a Batch
    task takes ~40 lines, and every level of Parallel nesting indents each of them further. (The
    quotas count :func:`compact`, not this.)

    >>> print(dumps({"a": [1, 2], "b": {"c": "d"}}), end="")
    {"a": [1, 2], "b": {"c": "d"}}
    """
    out: list[str] = []
    _emit(definition, 0, 0, out)
    out.append("\n")
    return "".join(out)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _encode_str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _flat(value: dict[Any, Any] | list[Any], budget: int) -> str | None:
    """``value`` on one line if that takes at most ``budget`` characters, else None. Stops as soon
    as the line is too long, so deciding costs O(LINE_WIDTH) per value however big it is."""
    parts: list[str] = []
    used = -2  # no ", " before the first item
    limit = budget - 2  # the brackets
    if isinstance(value, dict):
        for k, v in value.items():
            key = _encode_str(k) if type(k) is str else _scalar(k)
            kind = type(v)
            if kind is str:
                text = _encode_str(v)
            elif kind is dict or kind is list or isinstance(v, (dict, list)):
                sub = _flat(v, limit - used - 4 - len(key))
                if sub is None:
                    return None
                text = sub
            else:
                text = _scalar(v)
            used += len(key) + len(text) + 4
            if used > limit:
                return None
            parts.append(f"{key}: {text}")
        return "{" + ", ".join(parts) + "}" if parts or budget >= 2 else None
    for v in value:
        kind = type(v)
        if kind is str:
            text = _encode_str(v)
        elif kind is dict or kind is list or isinstance(v, (dict, list)):
            sub = _flat(v, limit - used - 2)
            if sub is None:
                return None
            text = sub
        else:
            text = _scalar(v)
        used += len(text) + 2
        if used > limit:
            return None
        parts.append(text)
    return "[" + ", ".join(parts) + "]" if parts or budget >= 2 else None


def one_line(value: Any, budget: int) -> str | None:
    """``value`` as :func:`dumps` writes it on one line, if that takes at most ``budget``
    characters, else None (in O(budget) steps however big the value)."""
    return _flat(value, budget) if isinstance(value, (dict, list)) else None


def _emit(value: Any, indent: int, column: int, out: list[str]) -> None:
    """Append ``value`` at block ``indent``, its first character at ``column``, to ``out``.

    Pieces go to one list joined once at the end: joining per level would copy every line once
    per level of nesting above it, quadratic in the depth of Parallels."""
    if not isinstance(value, (dict, list)):
        out.append(_scalar(value))
        return
    is_dict = isinstance(value, dict)
    flat = _flat(value, LINE_WIDTH - column)
    if flat is not None:
        out.append(flat)
        return
    if not value:
        out.append(_scalar(value))
        return
    inner = indent + 2
    separator = ",\n" + " " * inner
    out.append(("{\n" if is_dict else "[\n") + " " * inner)
    first = True
    if isinstance(value, dict):
        for k, v in value.items():
            if first:
                first = False
            else:
                out.append(separator)
            key = _encode_str(k) if type(k) is str else _scalar(k)
            out.append(key + ": ")
            if type(v) is str:
                out.append(_encode_str(v))
            else:
                _emit(v, inner, inner + len(key) + 2, out)
        out.append("\n" + " " * indent + "}")
        return
    for v in value:
        if first:
            first = False
        else:
            out.append(separator)
        if type(v) is str:
            out.append(_encode_str(v))
        else:
            _emit(v, inner, inner, out)
    out.append("\n" + " " * indent + "]")


def text_at(value: Any, indent: int, column: int) -> str:
    """``value`` as :func:`dumps` writes it at block ``indent``, starting at ``column``."""
    out: list[str] = []
    _emit(value, indent, column, out)
    return "".join(out)
