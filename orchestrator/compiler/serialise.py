"""The two JSON texts of a state machine: :func:`compact`, what is deployed and counted against
the quotas, and :func:`dumps`, the same indented for reading (the checked-in ``*.asl.json``), with
:class:`TaskTexts` to write 10,000 Task states quickly.

``dumps`` is a plain function of the definition. For a big workflow it is the slowest pass: a
Batch task is ~80 JSON values, and serialising 10,000 of them one value at a time takes most of
a second. But the Task states of one workflow come in a few kinds (same job, retry, timeout,
description) that differ only in the task's name and in where the state goes next; with plain
names of the same length every line breaks at the same place. So :class:`TaskTexts` serialises
each kind once per place in the document and fills the names in, and the text comes out the same
as ``dumps`` would write it (``tests/test_compiler_serialise.py`` compares the two).

    >>> print(dumps({"a": [1, 2], "b": {"c": "d"}}), end="")
    {"a": [1, 2], "b": {"c": "d"}}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator import model
from orchestrator.compiler import asl
from orchestrator.compiler.tasks import kind_key, render_task

LINE_WIDTH = 110

# A dict the caller can already write: (dict, indent, column) -> its text, or None.
Hook = Callable[[Mapping[str, Any], int, int], "str | None"]

# Step Functions text is JSON with non-ASCII kept: the C encoder json.dumps itself uses for a
# str with ensure_ascii=False.
_encode_str: Callable[[str], str] = json.encoder.encode_basestring


def compact(definition: Mapping[str, Any]) -> str:
    """What is deployed: no whitespace at all, the builders' key order, UTF-8 kept. The C encoder
    writes it (a few milliseconds for a 1 MB machine), and the quotas are counted on it.

    >>> compact({"a": [1, 2], "b": {"c": "é"}})
    '{"a":[1,2],"b":{"c":"é"}}'
    """
    return json.dumps(definition, ensure_ascii=False, separators=(",", ":"))


def dumps(definition: Mapping[str, Any], hook: Hook | None = None) -> str:
    """The one serialisation: 2-space indents, the builders' key order, UTF-8 kept, trailing
    newline; an object or array whose one-line form fits in :data:`LINE_WIDTH` columns stays on
    one line. Same input, same bytes.

    Collapsing short values keeps the files short enough to read: with plain ``indent=2`` a Batch
    task takes ~40 lines, and every level of Parallel nesting indents each of them further. (The
    quotas count :func:`compact`, not this.)

    ``hook`` may supply the text of some dicts (see :class:`TaskTexts`); it must return exactly
    what this function would write for them, or None.

    >>> print(dumps({"a": [1, 2], "b": {"c": "d"}}), end="")
    {"a": [1, 2], "b": {"c": "d"}}
    """
    out: list[str] = []
    _emit(definition, 0, 0, out, hook)
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


def _emit(value: Any, indent: int, column: int, out: list[str], hook: Hook | None) -> None:
    """Append ``value`` at block ``indent``, its first character at ``column``, to ``out``.

    Pieces go to one list joined once at the end: joining per level would copy every line once
    per level of nesting above it, quadratic in the depth of Parallels."""
    if not isinstance(value, (dict, list)):
        out.append(_scalar(value))
        return
    is_dict = isinstance(value, dict)
    if hook is not None and isinstance(value, dict):
        known = hook(value, indent, column)
        if known is not None:
            out.append(known)
            return
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
                _emit(v, inner, inner + len(key) + 2, out, hook)
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
            _emit(v, inner, inner, out, hook)
    out.append("\n" + " " * indent + "]")


def text_at(value: Mapping[str, Any], indent: int, column: int) -> str:
    """``value`` as :func:`dumps` writes it at block ``indent``, starting at ``column``."""
    out: list[str] = []
    _emit(value, indent, column, out, None)
    return "".join(out)


# Stand-ins for the parts of a Task state that vary between tasks of one kind: the name (in the
# class of plain names the real one is in, see _name_stand_ins) and the Next and Catch targets
# (private-use characters, which never occur in what the compiler writes).
_NEXT_STAND_INS = ("\ue000", "\ue001")
_CATCH_STAND_INS = ("\ue002", "\ue003")


def _name_stand_ins(name: str) -> tuple[str, str] | None:
    """Two names unlike each other that render exactly like ``name`` but for their letters: same
    length, same first-character class (``job_name`` prefixes "j" to a name not starting with a
    letter or digit), identifier or not (``field_path`` brackets non-identifiers)."""
    head = name[0]
    if head.isalpha():
        firsts = ("Q", "Z")
    elif head.isdigit():
        firsts = ("7", "8")
    else:
        firsts = (head, head)
    identifier = name.isidentifier()
    out = []
    for first, fill in zip(firsts, ("Q", "Z"), strict=True):
        stand_in = first + fill * (len(name) - 1)
        if stand_in.isidentifier() != identifier:
            if len(name) < 2:
                return None
            stand_in = stand_in[:-1] + "-"
        out.append(stand_in)
    return (out[0], out[1]) if out[0] != out[1] else None


def _plain(text: str | None) -> bool:
    """Whether ``text`` (a Next or Catch target) is written as itself between quotes and holds
    no stand-in."""
    return text is None or (
        _encode_str(text) == f'"{text}"' and not any(s in text for s in _NEXT_STAND_INS + _CATCH_STAND_INS)
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Template:
    text: str
    name: str
    next: str | None
    catch: str | None


class TaskTexts:
    """Texts of the Task states of one workflow's machines, for :func:`dumps` ``hook=``.

    :meth:`add` records each Task state rendered for a task with a :func:`tasks.kind_key`; the
    hook then writes such a state from a template made for its kind, its place (indent, column)
    and its Next/Catch lengths. A template is made by rendering the state twice with different
    stand-ins for the name and targets; it is used only if swapping the stand-ins turns one text
    into the other exactly, which shows the stand-ins occur nowhere else in the text.
    """

    def __init__(
        self, wf: model.Workflow, kinds: Mapping[str, tuple[object, ...] | None] | None = None
    ) -> None:
        """``kinds``: :func:`tasks.kind_key` of every task, when the caller has them already."""
        self.wf = wf
        if kinds is None:
            kinds = {t.name: kind_key(t) for t in wf.tasks}
        self.kinds = {name: key for name, key in kinds.items() if key is not None}
        self.tasks = {t.name: t for t in wf.tasks if t.name in self.kinds}
        self.placed: dict[int, tuple[Mapping[str, Any], asl.Task | asl.Fail]] = {}
        self.fails: dict[tuple[object, ...], str] = {}
        self.templates: dict[tuple[object, ...], _Template | None] = {}
        self.made = 0  # templates rendered (twice each), for the tests

    def add(self, graph: asl.Graph, rendered: Mapping[str, Any]) -> None:
        """Record the Task states of ``graph`` (branches included) and the dicts they rendered."""
        states = rendered["States"]
        for state in graph.states:
            if isinstance(state, asl.Parallel):
                for branch, branch_dict in zip(state.branches, states[state.name]["Branches"], strict=True):
                    self.add(branch, branch_dict)
            elif isinstance(state, asl.Fail) or (
                # Fail states: one per Parallel branch, all alike.
                isinstance(state, asl.Task) and state.name in self.kinds and len(state.catch) <= 1
            ):
                d = states[state.name]
                self.placed[id(d)] = (d, state)

    def hook(self, value: Mapping[str, Any], indent: int, column: int) -> str | None:
        hit = self.placed.get(id(value))
        if hit is None or hit[0] is not value:
            return None
        state = hit[1]
        if isinstance(state, asl.Fail):
            # The rendered Fail state holds neither its name nor a transition.
            fail = (state.comment, state.query_language, state.error, state.cause, state.error_path)
            fail_key = (*fail, state.cause_path, indent, column)
            text = self.fails.get(fail_key)
            if text is None:
                text = self.fails[fail_key] = text_at(value, indent, column)
            return text
        catch = state.catch[0].next if state.catch else None
        key = (
            self.kinds[state.name],
            None if state.next is None else len(state.next),
            None if catch is None else len(catch),
            state.output_path,
            indent,
            column,
        )
        if key in self.templates:
            template = self.templates[key]
        else:
            template = self.templates[key] = self._make(state, catch, indent, column)
        if template is None or not _plain(state.next) or not _plain(catch):
            return None
        text = template.text.replace(template.name, state.name)
        if template.next is not None and state.next is not None:
            text = text.replace(template.next, state.next)
        if template.catch is not None and catch is not None:
            text = text.replace(template.catch, catch)
        return text

    def _make(self, state: asl.Task, catch: str | None, indent: int, column: int) -> _Template | None:
        names = _name_stand_ins(state.name)
        if names is None:
            return None
        self.made += 1
        texts = []
        for i in (0, 1):
            stand_in = dataclasses.replace(self.tasks[state.name], name=names[i])
            task = render_task(
                stand_in,
                self.wf,
                next=None if state.next is None else _NEXT_STAND_INS[i] * len(state.next),
                catch_to=None if catch is None else _CATCH_STAND_INS[i] * len(catch),
                output_path=state.output_path,
            )
            texts.append(text_at(task.render(), indent, column))
        swapped = texts[0].replace(names[0], names[1])
        for stand_ins in (_NEXT_STAND_INS, _CATCH_STAND_INS):
            swapped = swapped.replace(stand_ins[0], stand_ins[1])
        if swapped != texts[1]:
            return None
        return _Template(
            text=texts[0],
            name=names[0],
            next=None if state.next is None else _NEXT_STAND_INS[0] * len(state.next),
            catch=None if catch is None else _CATCH_STAND_INS[0] * len(catch),
        )
