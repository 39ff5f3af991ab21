"""Task states of one kind written from one stencil: their dicts, compact and readable texts.

The Task states of a workflow come in a few kinds (:func:`tasks.kind_key`: same job, retry,
timeout, description, a name as long and as plain) that differ only where the task's name and
its Next and Catch targets are written. Building each through the typed builders
(``tasks.batch_task``, ~25 µs a state) and serialising it value by value, twice, was most of the
time of compiling 10,000 tasks. So each kind is rendered once, with stand-ins for the name and
the targets, into a :class:`Stencil`:

* a function that builds the state's dict for a name and targets: a dict display compiled once
  (as ``dataclasses`` compiles its ``__init__``), so every state gets fresh dicts and lists;
* its compact text (what is deployed) as a function of the three holes (:func:`_filler`);
* its readable text (``serialise.dumps``) per place in the document, made when first needed.

A stencil is used only if rendering again with a second set of stand-ins gives exactly what the
stencil gives for them (the dict, its type and key order, and both texts): that shows the
stand-ins occur nowhere else, so filling the holes writes what the builders would.

:class:`StencilTask` is the state the renderer places in a machine instead of an ``asl.Task``;
the ``asl.Graph`` checks see its name and targets as for any state. :class:`Writer` writes a
machine's compact text (one pass over its states, stencils and the alike branch Fail states
from text made once) and supplies :func:`serialise.dumps` the readable text of the same states.

    >>> from orchestrator import model
    >>> job = model.BatchJob(image="alpine:3", command=("true",))
    >>> wf = model.Workflow(name="wf", tasks=(model.Task(name="load-a", job=job),))
    >>> stencils = Stencils(wf, tasks.kinds_of(wf.tasks))
    >>> stencil = stencils.get(wf.tasks[0], output_path=None, next=True, catch=True)
    >>> state = stencil.build("load-b", "after", "Describe failure")
    >>> state["ResultPath"], state["Next"]
    ("$.results['load-b']", 'after')
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from orchestrator import model
from orchestrator.compiler import asl, tasks
from orchestrator.compiler.serialise import LINE_WIDTH, compact, encode_string, one_line, text_at
from orchestrator.limits import STATE_NAME_MAX

# Strings are encoded by the C string encoder directly: compact() costs more than the encoding
# of a short string.
_encode = compact
_encode_str = encode_string

# Stand-ins for the targets: private-use characters, which never occur in what the compiler writes.
_NEXT_STAND_INS = ("\ue000", "\ue001")
_CATCH_STAND_INS = ("\ue002", "\ue003")

Builder = Callable[[str, "str | None", "str | None"], dict[str, Any]]


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


def encoded(text: str) -> str:
    """``text`` as it stands between the quotes of a JSON string (non-ASCII kept)."""
    return _encode_str(text)[1:-1]


Filler = Callable[[str, str, str], str]


def _filler(text: str, holes: tuple[str | None, str | None, str | None]) -> Filler | None:
    """A function (name, next, catch) -> ``text`` with each occurrence of a hole's stand-in
    replaced; None when the text holds no stand-in at all.

    A call joins the fixed pieces and the values in their order, picked from one tuple by an
    ``operator.itemgetter``: as fast as an f-string compiled for the text (~0.3 µs against ~1.5 µs
    for a Python loop over the pieces), with nothing to compile (~200 µs an f-string, and a
    deeply nested workflow needs hundreds of fillers for its places)."""
    alternatives = [re.escape(h) for h in holes if h]
    if not alternatives:
        return None
    parts = re.split("(" + "|".join(alternatives) + ")", text)
    if len(parts) == 1:
        return None
    hole_index = {h: i for i, h in enumerate(holes) if h}
    fixed = tuple(parts[0::2])
    # In the tuple (name, next, catch, *fixed): fixed[0], then each hole and the piece after it.
    order = [3]
    for i, part in enumerate(parts[1::2], 1):
        order += (hole_index[part], 3 + i)
    pick = operator.itemgetter(*order)
    join = "".join

    def fill(name: str, next: str, catch: str) -> str:
        return join(pick((name, next, catch) + fixed))

    return fill


def _source(value: object, split: Callable[[str], list[str]], variables: Mapping[str, str]) -> str | None:
    """A Python expression that builds ``value`` afresh, each stand-in in its strings read from
    its variable; None for a value that is not plain JSON (of exactly the JSON types)."""
    kind = type(value)
    if kind is str:
        assert isinstance(value, str)
        parts = split(value)
        if len(parts) == 1:
            return repr(value)
        terms = [variables[part] if i % 2 else repr(part) for i, part in enumerate(parts) if i % 2 or part]
        return "(" + " + ".join(terms) + ")"
    if kind is dict:
        assert isinstance(value, dict)
        items = []
        for key, item in value.items():
            key_source = _source(key, split, variables) if type(key) is str else None
            item_source = _source(item, split, variables)
            if key_source is None or item_source is None:
                return None
            items.append(f"{key_source}: {item_source}")
        return "{" + ", ".join(items) + "}"
    if kind is list:
        assert isinstance(value, list)
        sources = [_source(item, split, variables) for item in value]
        if any(s is None for s in sources):
            return None
        return "[" + ", ".join(s for s in sources if s is not None) + "]"
    if kind is float:
        assert isinstance(value, float)
        return repr(value) if math.isfinite(value) else None
    if value is None or kind is bool or kind is int:
        return repr(value)
    return None


def _compile_builder(state: dict[str, Any], holes: tuple[str, str | None, str | None]) -> Builder | None:
    """A function (name, next, catch) -> a new dict like ``state`` with the holes filled."""
    variables = {h: v for h, v in zip(holes, ("name", "next", "catch"), strict=True) if h}
    pattern = re.compile("(" + "|".join(re.escape(h) for h in holes if h) + ")")
    source = _source(state, pattern.split, variables)
    if source is None:
        return None
    namespace: dict[str, Any] = {}
    exec(f"def build(name, next, catch):\n    return {source}\n", namespace)  # noqa: S102 - see docstring
    builder: Builder = namespace["build"]
    return builder


@dataclasses.dataclass(slots=True)
class Stencil:
    """One kind's Task state with holes for the name, Next and Catch target (see module doc)."""

    task: model.Task  # a task of the kind, rendered with stand-in names for the readable texts
    wf: model.Workflow
    output_path: str | None
    next: bool  # whether the state has a Next (else End)
    catch: bool  # whether it has a Catch
    build: Builder  # (name, next, catch) -> the state's dict
    compact: Filler  # (name, encoded next, encoded catch) -> the compact text
    names: tuple[str, str]  # the stand-ins
    # Whether the one-line text is longer than a line whatever the targets: the one-line text is
    # the compact one with a space after each ',' and ':', so at least as long.
    long: bool
    readable: dict[tuple[int, int, int, int], Filler | None] = dataclasses.field(default_factory=dict)

    @classmethod
    def make(
        cls, task: model.Task, wf: model.Workflow, *, output_path: str | None, next: bool, catch: bool
    ) -> Stencil | None:
        """The stencil of ``task``'s kind, or None when the stand-ins do not show where the
        holes are (see the module docstring)."""
        names = _name_stand_ins(task.name)
        if names is None:
            return None
        rendered = []
        for i in (0, 1):
            state = tasks.render_task(
                dataclasses.replace(task, name=names[i]),
                wf,
                next=_NEXT_STAND_INS[i] if next else None,
                catch_to=_CATCH_STAND_INS[i] if catch else None,
                output_path=output_path,
            ).render()
            rendered.append(state)
        holes = (names[0], _NEXT_STAND_INS[0] if next else None, _CATCH_STAND_INS[0] if catch else None)
        build = _compile_builder(rendered[0], holes)
        compact = _filler(_encode(rendered[0]), holes)
        if build is None or compact is None:
            return None
        second = (names[1], _NEXT_STAND_INS[1] if next else "", _CATCH_STAND_INS[1] if catch else "")
        built = build(second[0], second[1] or None, second[2] or None)
        if repr(built) != repr(rendered[1]) or compact(*second) != _encode(rendered[1]):
            return None
        long = len(compact(names[0], "", "")) > LINE_WIDTH
        return cls(task, wf, output_path, next, catch, build, compact, names, long)

    def readable_filler(self, indent: int, column: int, next_length: int, catch_length: int) -> Filler | None:
        """The readable text of the state at ``indent`` and ``column``, as a function of the name
        and the encoded targets, for targets that long when encoded; None if the stand-ins would
        not show where the holes are."""
        if self.long and self.next:
            # Never on one line, so the Next member, a string, is written as it is whatever its
            # length: one filler serves every Next target.
            next_length = 1
        key = (indent, column, next_length, catch_length)
        if key in self.readable:
            return self.readable[key]
        texts, holes = [], []
        for i in (0, 1):
            fill = (
                self.names[i],
                _NEXT_STAND_INS[i] * next_length if self.next else None,
                _CATCH_STAND_INS[i] * catch_length if self.catch else None,
            )
            texts.append(text_at(self.build(*fill), indent, column))
            holes.append(fill)
        filler = _filler(texts[0], holes[0])
        if filler is not None and filler(*(h or "" for h in holes[1])) != texts[1]:
            filler = None
        self.readable[key] = filler
        return filler


class Stencils:
    """The stencils of one workflow, made when a kind is first placed (one per kind, Output path,
    and whether the state has a Next and a Catch). ``kinds``: from :func:`tasks.kinds_of`, one
    object per kind, so kinds are told apart by identity."""

    def __init__(self, wf: model.Workflow, kinds: Mapping[str, tuple[object, ...] | None]) -> None:
        self.wf = wf
        self.kinds = kinds
        self.stencils: dict[tuple[int, str | None, bool, bool], Stencil | None] = {}

    def get(self, task: model.Task, output_path: str | None, next: bool, catch: bool) -> Stencil | None:
        """The stencil for ``task`` placed with that Output path, a Next (else End) or not, a
        Catch or not; None when it has none (then the builders render it)."""
        kind = self.kinds.get(task.name)
        if kind is None:
            return None
        key = (id(kind), output_path, next, catch)
        stencil = self.stencils.get(key, False)
        if stencil is False:
            stencil = self.stencils[key] = Stencil.make(task, self.wf, output_path=output_path, next=next, catch=catch)
        return stencil  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.stencils)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StencilTask(asl.State):
    """A Task state rendered from its kind's stencil: the same dict as ``tasks.render_task``."""

    type = asl.StateType.TASK
    stencil: Stencil
    catch_to: str | None = None

    def targets(self) -> tuple[str, ...]:
        if self.catch_to is None:
            return () if self.next is None else (self.next,)
        return (self.catch_to,) if self.next is None else (self.next, self.catch_to)

    def render(self) -> dict[str, Any]:
        return self.stencil.build(self.name, self.next, self.catch_to)

    def relinked(self, next: str) -> StencilTask:
        """The same state going on to ``next``."""
        return StencilTask(name=self.name, next=next, catch_to=self.catch_to, stencil=self.stencil)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TaskBranch(asl.Graph):
    """A Parallel branch of one stencil Task state that catches to the branch's Fail state: every
    branch of a wide fan-out. Built by :meth:`of`, which checks what ``asl.Graph`` would check of
    this shape (names of 1..80 characters and apart; the one target, the Fail state, in the scope;
    both states reached) in a few comparisons; :class:`Writer` writes its texts whole."""

    @classmethod
    def of(cls, task: StencilTask, fail: asl.Fail) -> asl.Graph:
        """The branch ``task`` then ``fail``; a plain, fully checked ``asl.Graph`` (which names
        what is wrong) when the two are not of this shape."""
        name, fail_name = task.name, fail.name
        if (
            task.next is not None
            or task.catch_to != fail_name
            or name == fail_name
            or not 0 < len(name) <= STATE_NAME_MAX
            or not 0 < len(fail_name) <= STATE_NAME_MAX
            or fail.next is not None
        ):
            return asl.Graph(start_at=name, states=(task, fail))
        graph = object.__new__(cls)
        object.__setattr__(graph, "start_at", name)
        object.__setattr__(graph, "states", (task, fail))
        object.__setattr__(graph, "_by_name", {name: task, fail_name: fail})
        return graph

    @property
    def task(self) -> StencilTask:
        task = self.states[0]
        assert isinstance(task, StencilTask)
        return task


def _fail_key(state: asl.Fail) -> tuple[object, ...]:
    """What a Fail state's dict depends on (it holds neither its name nor a transition)."""
    return (state.comment, state.query_language, state.error, state.cause, state.error_path, state.cause_path)


class Writer:
    """The dicts and two texts of one workflow's machines, from the builders' graphs:
    :meth:`render` (the dicts and ``serialise.compact``) and :meth:`readable` (``serialise.dumps``).

    Each walks the states once; a stencil's states are written by filling its holes, the branch
    Fail states (all alike) from one text each, the rest through the generic serialisers. The
    readable layout puts an object on one line when it fits; a scope holding a stencil state
    never does (the state's one-line text is longer than a line), so it is broken without the
    one-line attempt that ``dumps`` makes at every level.
    """

    def __init__(self) -> None:
        self.fail_texts: dict[tuple[object, ...], tuple[dict[str, Any], str]] = {}
        self.fail_readable: dict[tuple[object, ...], str] = {}
        self.field_texts: dict[tuple[str, int, int], str] = {}
        # (id of a stencil, Fail, indent, Fail name length) -> (the stencil, kept so its id stays
        # its own, and the branch filler)
        self.branch_fillers: dict[tuple[object, ...], tuple[Stencil, Filler | None]] = {}
        self._long: dict[int, tuple[asl.Graph, bool]] = {}
        self._tasks: list[tuple[str, dict[str, Any]]] = []  # where render() puts the Task states it meets

    # -- the dicts and the compact text: what is deployed --------------------------------------

    def render(
        self, machine: asl.StateMachine, task_states: list[tuple[str, dict[str, Any]]] | None = None
    ) -> tuple[dict[str, Any], str]:
        """``machine.render()`` and its ``serialise.compact`` text, in one walk of the states;
        ``task_states``, when given, gets every Task state's name and dict, branches included
        (the checks and figures that read them need no walk of their own).

        Pieces go to one list joined once at the end: joining per level would copy every state
        once per level of nesting above it, quadratic in the depth of Parallels."""
        out: list[str] = []
        self._tasks = [] if task_states is None else task_states
        states = self._states(machine.graph, out)
        states_text = "".join(out)
        # The graph's dict as asl.Graph.render() makes it.
        definition = machine.render(graph={"StartAt": machine.graph.start_at, "States": states})
        text = "{" + ",".join(
            _encode_str(key) + ":" + (states_text if key == "States" else _encode(value))
            for key, value in definition.items()
        ) + "}"
        return definition, text

    def _scope(self, graph: asl.Graph, out: list[str]) -> dict[str, Any]:
        """A branch's dict (as asl.Graph.render() makes it); its text appended to ``out``."""
        out.append('{"StartAt":' + _encode_str(graph.start_at) + ',"States":')
        states = self._states(graph, out)
        out.append("}")
        return {"StartAt": graph.start_at, "States": states}

    def _task_branch(self, branch: TaskBranch, out: list[str]) -> dict[str, Any]:
        """:meth:`_scope` of a :class:`TaskBranch`: its two states written in one piece."""
        task, fail = branch.states
        assert isinstance(task, StencilTask) and isinstance(fail, asl.Fail)
        name, fail_name = task.name, fail.name
        alike = _fail_key(fail)
        known = self.fail_texts.get(alike)
        if known is None:
            first = fail.render()
            known = self.fail_texts[alike] = (first, _encode(first))
        name_text, fail_text = _encode_str(name), _encode_str(fail_name)
        task_dict = task.stencil.build(name, None, fail_name)
        self._tasks.append((name, task_dict))
        task_text = task.stencil.compact(name, "", fail_text[1:-1])
        out.append(f'{{"StartAt":{name_text},"States":{{{name_text}:{task_text},{fail_text}:{known[1]}}}}}')
        return {"StartAt": name, "States": {name: task_dict, fail_name: dict(known[0])}}

    def _states(self, graph: asl.Graph, out: list[str]) -> dict[str, Any]:
        """The scope's States dict, its text appended to ``out``; notes whether the scope is long
        (see :meth:`_is_long`), which the walk finds out on the way."""
        fail_texts = self.fail_texts
        tasks_found, task_type = self._tasks, asl.StateType.TASK
        states: dict[str, Any] = {}
        long = False
        separator = "{"
        for state in graph.states:
            name = state.name
            head = separator + _encode_str(name) + ":"
            separator = ","
            kind = type(state)
            if kind is StencilTask:
                assert isinstance(state, StencilTask)
                states[name] = d = state.render()
                tasks_found.append((name, d))
                out.append(head + state.stencil.compact(name, *_targets(state)))
                long = long or state.stencil.long
            elif kind is asl.Fail:
                assert isinstance(state, asl.Fail)
                # Alike Fail states render alike: a copy of the first one's dict (its values
                # are strings) and its text.
                alike = _fail_key(state)
                known = fail_texts.get(alike)
                if known is None:
                    first = state.render()
                    known = fail_texts[alike] = (first, _encode(first))
                states[name] = dict(known[0])
                out.append(head + known[1])
            elif isinstance(state, asl.Parallel):
                # A stand-in list keeps Branches in its place among the keys; the branches are
                # rendered and written where the key comes.
                states[name] = d = state.render(branches=[None])
                out.append(head)
                inner = "{"
                for key, value in d.items():
                    out.append(inner + _encode_str(key) + ":")
                    inner = ","
                    if key == "Branches":
                        between = "["
                        branches = []
                        for branch in state.branches:
                            out.append(between)
                            between = ","
                            if type(branch) is TaskBranch:
                                branches.append(self._task_branch(branch, out))
                                long = long or branch.task.stencil.long
                            else:
                                branches.append(self._scope(branch, out))
                                long = long or self._long[id(branch)][1]
                        out.append("]")
                        d[key] = branches
                    else:
                        out.append(_encode_str(value) if type(value) is str else _encode(value))
                out.append("}")
            else:
                states[name] = d = state.render()
                if state.type is task_type:
                    tasks_found.append((name, d))
                out.append(head + _encode(d))
        out.append("}" if states else "{}")
        self._long[id(graph)] = (graph, long)
        return states

    # -- readable: what is written to the .asl.json files ---------------------------------------

    def readable(self, machine: asl.StateMachine, definition: Mapping[str, Any]) -> str:
        """``serialise.dumps(definition)``, ``definition`` being ``machine.render()``."""
        out: list[str] = []
        self._readable_scope(machine.graph, definition, 0, 0, out)
        out.append("\n")
        return "".join(out)

    def _is_long(self, graph: asl.Graph) -> bool:
        """Whether the scope holds a stencil state, at any depth (so it cannot be one line):
        noted by :meth:`render`, else found here."""
        if type(graph) is TaskBranch:
            return graph.task.stencil.long
        hit = self._long.get(id(graph))
        if hit is not None and hit[0] is graph:
            return hit[1]
        long = any(
            (isinstance(state, StencilTask) and state.stencil.long)
            or (isinstance(state, asl.Parallel) and any(self._is_long(b) for b in state.branches))
            for state in graph.states
        )
        self._long[id(graph)] = (graph, long)
        return long

    def _readable_scope(
        self, graph: asl.Graph, rendered: Mapping[str, Any], indent: int, column: int, out: list[str]
    ) -> None:
        if not self._is_long(graph):
            out.append(text_at(rendered, indent, column))
            return
        inner = indent + 2
        separator = "{\n" + " " * inner
        between = ",\n" + " " * inner
        for key, value in rendered.items():
            key_text = _encode_str(key)
            out.append(separator + key_text + ": ")
            separator = between
            if key == "States":
                self._readable_states(graph, value, inner, inner + len(key_text) + 2, out)
            elif type(value) is str:
                out.append(_encode_str(value))
            else:
                out.append(self._field(value, inner, inner + len(key_text) + 2))
        out.append("\n" + " " * indent + "}")

    def _readable_states(
        self, graph: asl.Graph, states: Mapping[str, Any], indent: int, column: int, out: list[str]
    ) -> None:
        # A long scope's States: never on one line, so one state per line.
        inner = indent + 2
        separator = "{\n" + " " * inner
        between = ",\n" + " " * inner
        fail_readable = self.fail_readable
        for state, (name, d) in zip(graph.states, states.items(), strict=True):
            key_text = _encode_str(name)
            out.append(separator + key_text + ": ")
            separator = between
            at = inner + len(key_text) + 2
            kind = type(state)
            if kind is StencilTask:
                assert isinstance(state, StencilTask)
                next_text, catch_text = _targets(state)
                filler = state.stencil.readable_filler(inner, at, len(next_text), len(catch_text))
                out.append(text_at(d, inner, at) if filler is None else filler(name, next_text, catch_text))
            elif kind is asl.Fail:
                assert isinstance(state, asl.Fail)
                key = (*_fail_key(state), inner, at)
                text = fail_readable.get(key)
                if text is None:
                    text = fail_readable[key] = text_at(d, inner, at)
                out.append(text)
            elif isinstance(state, asl.Parallel) and self._is_long_parallel(state):
                self._readable_parallel(state, d, inner, out)
            else:
                out.append(self._readable_state(d, inner, at))
        out.append("\n" + " " * indent + "}")

    def _readable_state(self, state: Mapping[str, Any], indent: int, column: int) -> str:
        """``text_at(state, indent, column)`` for a state's dict, its fields' texts reused: the
        merge Passes and Parallels of one machine differ in their Next and little else."""
        flat = one_line(state, LINE_WIDTH - column)
        if flat is not None:
            return flat
        if not state or any(type(key) is not str for key in state):
            return text_at(state, indent, column)
        inner = indent + 2
        separator = "{\n" + " " * inner
        parts = []
        for key, value in state.items():
            key_text = _encode_str(key)
            parts.append(separator + key_text + ": " + self._field(value, inner, inner + len(key_text) + 2))
            separator = ",\n" + " " * inner
        parts.append("\n" + " " * indent + "}")
        return "".join(parts)

    def _field(self, value: object, indent: int, column: int) -> str:
        """``text_at(value, indent, column)``, made once per value (told apart by its ``repr``,
        which tells every JSON value and type apart) and place."""
        if type(value) is str:
            return _encode_str(value)
        key = (repr(value), indent, column)
        text = self.field_texts.get(key)
        if text is None:
            text = self.field_texts[key] = text_at(value, indent, column)
        return text

    def _is_long_parallel(self, state: asl.Parallel) -> bool:
        return any(self._is_long(b) for b in state.branches)

    def _readable_parallel(self, state: asl.Parallel, rendered: Mapping[str, Any], indent: int, out: list[str]) -> None:
        inner = indent + 2
        separator = "{\n" + " " * inner
        for key, value in rendered.items():
            key_text = _encode_str(key)
            out.append(separator + key_text + ": ")
            separator = ",\n" + " " * inner
            if key == "Branches":
                # Holds a long scope: never on one line, one branch per line.
                branch_indent = inner + 2
                between = "[\n" + " " * branch_indent
                for branch, branch_dict in zip(state.branches, value, strict=True):
                    out.append(between)
                    between = ",\n" + " " * branch_indent
                    text = self._readable_one_task(branch, branch_indent)
                    if text is None:
                        self._readable_scope(branch, branch_dict, branch_indent, branch_indent, out)
                    else:
                        out.append(text)
                out.append("\n" + " " * inner + "]")
            else:
                out.append(self._field(value, inner, inner + len(key_text) + 2))
        out.append("\n" + " " * indent + "}")


    def _readable_one_task(self, branch: asl.Graph, indent: int) -> str | None:
        """The readable text of a branch that is one stencil state and the Fail state it catches
        to (every branch of a wide fan-out), from a filler per stencil, Fail, place and Fail name
        length; None for any other branch, or when the stand-ins would not show the holes."""
        if type(branch) is not TaskBranch:
            return None
        task, fail = branch.states
        assert isinstance(task, StencilTask) and isinstance(fail, asl.Fail)
        fail_text = _encode_str(fail.name)[1:-1]
        stencil = task.stencil
        key = (id(stencil), _fail_key(fail), indent, len(fail_text))
        hit = self.branch_fillers.get(key)
        if hit is None:
            hit = self.branch_fillers[key] = (stencil, _branch_filler(stencil, fail, indent, len(fail_text)))
        filler = hit[1]
        return None if filler is None else filler(task.name, "", fail_text)


def _branch_filler(stencil: Stencil, fail: asl.Fail, indent: int, fail_length: int) -> Filler | None:
    """A filler (task name, -, encoded Fail name) of the readable text of the branch
    ``{"StartAt": task, "States": {task: ..., fail: ...}}`` at ``indent``: the task state from its
    stencil's (checked) filler at its place. The state is never on one line, so neither are the
    branch and its States: one member per line, as ``serialise.dumps`` writes them."""
    if stencil.next or not stencil.catch or not stencil.long:
        return None
    pad, inner, states_indent = " " * indent, " " * (indent + 2), " " * (indent + 4)
    at = indent + 4
    task_filler = stencil.readable_filler(at, at + len(stencil.names[0]) + 4, 0, fail_length)
    if task_filler is None:
        return None
    fail_text = text_at(fail.render(), at, at + fail_length + 4)

    def fill(name: str, next: str, fail_name: str) -> str:
        # A plain name (the stencil's kind) is written as it is.
        return (
            f'{{\n{inner}"StartAt": "{name}",\n{inner}"States": {{\n{states_indent}"{name}": '
            f'{task_filler(name, "", fail_name)},\n{states_indent}"{fail_name}": {fail_text}\n{inner}}}\n{pad}}}'
        )

    return fill


def _targets(state: StencilTask) -> tuple[str, str]:
    """The state's Next and Catch target as they stand between quotes ("" when absent)."""
    return (
        "" if state.next is None else _encode_str(state.next)[1:-1],
        "" if state.catch_to is None else _encode_str(state.catch_to)[1:-1],
    )
