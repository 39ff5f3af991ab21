"""Loading workflows from files: YAML and JSON specs (with the line and column of every key and
item, so problems point at the text) and Python files (every module-level workflow).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "hello.yaml"
    >>> _ = path.write_text("name: hello\\ntasks:\\n  - name: hi\\n    batch: {image: alpine:3}\\n")
    >>> load(path).tasks[0].name
    'hi'
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import keyword
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path as FilePath
from typing import TYPE_CHECKING, Any, NamedTuple

from orchestrator import model
from orchestrator.errors import Problem, SpecError, ValidationError, closest
from orchestrator.limits import JSON_INT_MAX, SPEC_MAX_BYTES, SPEC_MAX_DEPTH, SPEC_MAX_NODES
from orchestrator.spec.issues import Path
from orchestrator.spec.validate import KnownValid, from_dict, from_loaded

if TYPE_CHECKING:
    import yaml


@functools.cache
def _spec_loader() -> type[yaml.SafeLoader]:
    """The YAML loader class, built on first use: PyYAML costs ~15 ms to import and a Python
    workflow never needs it. Binds the module's ``yaml`` for the functions that walk its nodes,
    all of which run after this."""
    global yaml
    import yaml

    class SpecLoader(yaml.SafeLoader):
        """PyYAML's safe loader with YAML 1.2's booleans: only ``true`` and ``false``.

        YAML 1.1 (PyYAML's default) also reads ``on``, ``off``, ``yes``, ``no``, ``y`` and ``n`` as
        booleans, so ``notify: {on: [failure]}`` would arrive with the key ``True``. JSON, YAML 1.2 and
        the spec schema agree that those are strings.
        """

    SpecLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    SpecLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    for tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:timestamp"):
        SpecLoader.add_constructor(tag, _readable(yaml.SafeLoader.yaml_constructors[tag]))
    return SpecLoader


class _UnreadableValue(Exception):
    """A scalar that looks like an integer or a date but cannot be made one, and where it is."""

    def __init__(self, node: Any, message: str, fix: str) -> None:
        super().__init__(message)
        self.line, self.column = node.start_mark.line + 1, node.start_mark.column + 1
        self.message, self.fix = message, fix

    def problem(self, source: str) -> Problem:
        return Problem(where=f"{source}:{self.line}:{self.column}", message=self.message, fix=self.fix)


def _readable(construct: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``construct`` (PyYAML's for integers or dates) with its ValueError made a located problem:
    an integer of more digits than Python converts, a date such as 2001-13-45."""

    def construct_readable(loader: Any, node: Any) -> Any:
        try:
            return construct(loader, node)
        except ValueError as error:
            text = str(node.value)
            if node.tag.endswith(":int"):
                digits = sum(char.isdigit() for char in text)
                raise _UnreadableValue(node, f"is an integer of {digits} digits, out of range: AWS takes "
                                       f"integers up to {JSON_INT_MAX} (2^63 - 1)", "write a smaller number") from None
            raise _UnreadableValue(node, f"{text!r} is read as a date, but is not one ({error})",
                                   f"write a real date, or quote it to keep it as text: \"{text}\"") from None

    return construct_readable


def __getattr__(name: str) -> Any:
    if name == "SpecLoader":  # the public name of the loader class (see _spec_loader)
        return _spec_loader()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SPEC_SUFFIXES = (".yaml", ".yml", ".json")
# What a Python file without a module-level workflow gets (a directory's helper modules are skipped on it).
NO_WORKFLOW = "defines no workflow at module level"
Positions = dict[Path, tuple[int, int]]


def load(path: str | os.PathLike[str]) -> model.Workflow:
    """The one workflow in a ``.py``, ``.yaml``/``.yml`` or ``.json`` file.

    A file with several workflows is an error naming them: use ``load_all`` (or the CLI's
    ``--workflow NAME``) to pick one.
    """
    workflows = load_all(path)
    if len(workflows) > 1:
        names = ", ".join(repr(wf.name) for wf in workflows)
        raise SpecError([Problem(
            where=str(path),
            message=f"defines {len(workflows)} workflows ({names}); load() wants exactly one",
            fix=f"use load_all({str(path)!r}) and pick one by name, or pass --workflow {workflows[0].name} "
            "on the command line",
        )])
    return workflows[0]


def select(path: str | os.PathLike[str], name: str | None = None, *, known: KnownValid | None = None) -> model.Workflow:
    """The workflow called ``name`` in a file, or its only one: what the CLI's ``--workflow`` picks.

    Unlike ``load``, the problems it reports speak of the command line's ``--workflow NAME``.
    ``known``: see ``load_all``.
    """
    workflows = load_all(path, known=known)
    names = ", ".join(wf.name for wf in workflows)
    if name is None:
        if len(workflows) == 1:
            return workflows[0]
        raise SpecError([Problem(where=str(path), message=f"defines {len(workflows)} workflows ({names})",
                                 fix="choose one with --workflow NAME")])
    for wf in workflows:
        if wf.name == name:
            return wf
    raise SpecError([Problem(where=str(path), message=f"has no workflow named '{name}' (it has: {names})",
                             fix=f"use one of: {names}")])


def load_all(path: str | os.PathLike[str], *, known: KnownValid | None = None) -> tuple[model.Workflow, ...]:
    """Every workflow in a file: the module-level workflows of a ``.py`` file, or each document of
    a YAML stream (a JSON file holds one). Raises ``SpecError`` / ``ValidationError`` listing every
    problem, never a traceback of the user's mistake. A workflow whose document is in ``known``
    (found valid before) is built without being checked again; one found valid is added to it."""
    file = FilePath(path)
    source = str(path)
    if file.suffix == ".py":
        _check_exists(file, source)
        return _load_python(file, source, known)
    if file.suffix not in SPEC_SUFFIXES:
        raise SpecError([Problem(
            where=source, message=f"is not a workflow file (suffix {file.suffix or 'none'!r})",
            fix="give a .py file that defines a Workflow, or a .yaml, .yml or .json spec",
        )])
    _check_exists(file, source)
    text = _read_text(file, source)
    _check_nesting(text, source)
    json_spec = file.suffix == ".json"
    documents = _parse_json(text, source) if json_spec else _parse_yaml(text, source)
    found: list[Problem] = []
    workflows: list[model.Workflow] = []
    for document in documents:
        found.extend(document.duplicates)
        try:  # validated once and built; the problems join the others
            if json_spec:  # plain dicts and lists, shared with nothing: no copy needed
                workflows.append(from_loaded(document.data, source=source, positions=document.positions,
                                             values_checked=document.values_checked,
                                             engines_agree=document.engines_agree, known=known))
            else:
                workflows.append(from_dict(document.data, source=source, positions=document.positions,
                                           known=known))
        except ValidationError as error:
            found.extend(error.problems)
    if found:
        raise ValidationError(found)
    return tuple(workflows)


def _read_text(file: FilePath, source: str) -> str:
    """The file as UTF-8 text, within ``limits.SPEC_MAX_BYTES``; a bad byte is named where it is."""
    try:
        size = file.stat().st_size
        if size > SPEC_MAX_BYTES:
            raise SpecError([Problem(
                where=source, message=f"is {size / 2**20:.1f} MiB; a spec is at most {SPEC_MAX_BYTES // 2**20} MiB "
                "(limits.SPEC_MAX_BYTES)", fix="split it into several workflows, one file each")])
        data = file.read_bytes()
    except OSError as error:
        raise SpecError([Problem(where=source, message=f"cannot be read: {error.strerror or error}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise SpecError([Problem(
            where=f"{source}:{line}:{column}",
            message=f"byte 0x{data[error.start]:02x} is not UTF-8 ({error.reason}); specs are UTF-8 text",
            fix="save the file as UTF-8 (in most editors: File > Save with Encoding > UTF-8)")]) from None


# What the nesting scan must look at: quotes, escapes, line ends and brackets. Everything else is
# skipped at C speed, so the scan costs per bracket and quote, not per character.
_NESTING_TOKENS = re.compile(r"[\n\"'\\\[\]{}]")


def _check_nesting(text: str, source: str) -> None:
    """Refuse flow nesting past ``limits.SPEC_MAX_DEPTH`` before a parser recurses into it.

    PyYAML and the json module both recurse once per ``[``/``{``: thousands of them take tens of
    seconds and then exhaust the interpreter's stack. Counting brackets outside quoted text costs
    a few C-level passes over the text's brackets and quotes (none beyond the first when there are
    too few brackets to nest that deep), or, when that cannot be plain (see ``_bracket_depth``),
    one scan over its quotes and brackets; block nesting (indentation) is bounded later, as values
    are walked. Only when the bound is passed is the text walked character by character, to say where.
    """
    kept = text.encode("utf-8", "surrogatepass").translate(_AS_BRACKETS, _NOT_BRACKETS_OR_QUOTES)
    if kept.count(b"[") <= SPEC_MAX_DEPTH:
        return
    deepest = _bracket_depth(text, kept)
    if deepest is not None:
        if deepest > SPEC_MAX_DEPTH:
            _nesting_problem(text, source)
        return
    depth, quote, escape_at = 0, "", -2
    for match in _NESTING_TOKENS.finditer(text):
        at = match.start()
        if at == escape_at:
            continue  # the character after a backslash in a double-quoted string
        char = match.group()
        if char == "\n":
            if quote == "'":
                quote = ""  # a stray apostrophe in a plain YAML scalar ends with its line
        elif quote:
            if char == "\\" and quote == '"':
                escape_at = at + 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > SPEC_MAX_DEPTH:
                _nesting_problem(text, source)
        elif char in "]}":
            depth = max(depth - 1, 0)


# Deleting every other ASCII character leaves what decides the depth, at C speed (UTF-8 bytes past
# ASCII are kept: outside quotes, they make the text not plain). A brace is kept as a bracket,
# since either opens a level.
_NOT_BRACKETS_OR_QUOTES = bytes(c for c in range(128) if chr(c) not in "[]{}\"'")
_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def _bracket_depth(text: str, kept: bytes) -> int | None:
    """The deepest bracket nesting outside double quotes of ``text``, when that is plain to see;
    else ``None``. ``kept`` is the text's brackets and quotes, as ``_check_nesting`` keeps them.
    Past ``limits.SPEC_MAX_DEPTH`` it stops counting: ``SPEC_MAX_DEPTH + 1`` stands for deeper.

    Plain means: no backslash before a quote (so no escape can end or hide one), no apostrophe
    outside double quotes (YAML's single quotes end with their line, as ``_check_nesting``
    reads them), nothing but ASCII outside quotes, and every bracket closed after it opens.
    A JSON spec is plain as written; then the depth costs a few C-level passes, not a scan:
    each pass deletes the innermost pairs, ``[]``, so a spec nested five deep takes five.
    """
    if "\\" in text and '\\"' in text:
        return None
    # Most strings hold no bracket or quote, so they are left as "": deleting those pairs leaves
    # what is outside the strings. Where a quote is left, some string held one, and the strings
    # are told apart by counting quotes instead.
    outside = kept.replace(b'""', b"")
    if b'"' in outside:
        outside = b"".join(kept.split(b'"')[::2])
    if b"'" in outside or not outside.isascii():
        return None
    depth = 0
    while outside and depth <= SPEC_MAX_DEPTH:
        inner = outside.replace(b"[]", b"")
        if len(inner) == len(outside):
            return None  # a bracket closed before it opens, or never closed
        outside, depth = inner, depth + 1
    return depth


def _nesting_problem(text: str, source: str) -> None:
    """Raise the nesting problem at the bracket that passes the bound (the error path: per character)."""
    depth, quote, escaped = 0, "", False
    line, column = 1, 0
    for char in text:
        column += 1
        if escaped:
            escaped = False
        elif char == "\n":
            line, column = line + 1, 0
            if quote == "'":
                quote = ""
        elif quote:
            if char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > SPEC_MAX_DEPTH:
                raise SpecError([Problem(
                    where=f"{source}:{line}:{column}",
                    message=f"nests lists and mappings more than {SPEC_MAX_DEPTH} levels deep "
                    "(limits.SPEC_MAX_DEPTH); no workflow needs that",
                    fix="flatten the value; a workflow's fields nest a few levels at most")])
        elif char in "]}":
            depth = max(depth - 1, 0)


def validate_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem in the file (empty when all its workflows are valid).

        >>> validate_file("no/such/file.yaml")[0].message
        'no such file'
    """
    try:
        load_all(path)
    except ValidationError as error:
        return list(error.problems)
    return []


def _check_exists(file: FilePath, source: str) -> None:
    if file.is_file():
        return
    if file.is_dir():
        raise SpecError([Problem(where=source, message="is a directory, not a workflow file",
                                 fix="name a .py, .yaml, .yml or .json file inside it")])
    fix = None
    if file.parent.is_dir():
        siblings = [p.name for p in file.parent.iterdir() if p.suffix in (".py",) + SPEC_SUFFIXES]
        guess = closest(file.name, siblings)
        if guess:
            fix = f"did you mean {str(file.parent / guess)!r}?"
    raise SpecError([Problem(where=source, message="no such file", fix=fix)])


# -- YAML and JSON -------------------------------------------------------------------------------
class Document(NamedTuple):
    """A parsed document and what its text already showed about it."""

    data: Any
    positions: Positions | Callable[[], Positions]  # or how to find them, when that is costly
    duplicates: list[Problem]  # found while parsing
    values_checked: bool  # no value is one ``bounds.check_values`` would report
    engines_agree: bool  # no character the schema's two regex engines read differently (schema.is_valid)


def _parse_yaml(text: str, source: str) -> list[Document]:
    documents: list[Document] = []
    spec_loader = _spec_loader()
    loader: yaml.SafeLoader | None = None
    budget = _NodeBudget(source)
    try:
        loader = spec_loader(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            positions: Positions = {}
            duplicates: list[Problem] = []
            _walk(node, (), positions, duplicates, source, loader, budget=budget)
            if budget.deep:
                _refuse_cycles(node, source)
            documents.append(Document(loader.construct_document(node), positions, duplicates, False, False))
    except _UnreadableValue as error:
        raise SpecError([error.problem(source)]) from None
    except yaml.MarkedYAMLError as error:
        raise SpecError([_syntax_problem(source, text, error)]) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        raise SpecError([Problem(
            where=f"{source}:{line}:{column}",
            message=f"the control character U+{error.character:04X} is not allowed in YAML",
            fix="remove it (write it as an escape, e.g. \"\\t\", inside a double-quoted string if it is meant)",
        )]) from None
    except yaml.YAMLError as error:
        raise SpecError([Problem(where=source, message=f"YAML error: {error}")]) from None
    except RecursionError:
        raise SpecError([Problem(where=source, message="nests too deeply to read",
                                 fix="flatten the document")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if not documents:
        raise SpecError([Problem(where=source, message="is empty; a spec needs at least 'name' and 'tasks'",
                                 fix='name: "nightly-sales"\ntasks:\n  - name: "hello"\n'
                                     '    batch: {image: "alpine:3", command: ["echo", "hi"]}')])
    return documents


class _NodeBudget:
    """Counts the nodes a document expands to: YAML aliases let a few lines stand for billions.

    Composing keeps an alias as a shared node (cheap), but every later pass — these positions,
    the schema, the checks, the compiler — visits it once per reference, so the expansion is what
    is bounded (``limits.SPEC_MAX_NODES``), before anything walks it.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.left = SPEC_MAX_NODES
        self.deep = False  # some value nests past limits.SPEC_MAX_DEPTH (or an alias repeats itself)

    def spend(self, node: yaml.Node) -> None:
        self.left -= 1
        if self.left < 0:
            raise SpecError([Problem(
                where=f"{self.source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}",
                message=f"expands to more than {SPEC_MAX_NODES:,} values (limits.SPEC_MAX_NODES), "
                "which YAML aliases (*name) repeating anchors (&name) can do in a few lines",
                fix="write the values out, or use fewer aliases of large anchors")])


def _walk(
    node: yaml.Node, path: Path, positions: Positions, duplicates: list[Problem], source: str,
    loader: yaml.SafeLoader, depth: int = 0, *, budget: _NodeBudget | None = None,
) -> None:
    """Record the line:column (1-based) of every mapping key and sequence item under ``node``."""
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if budget is not None:
        budget.spend(node)
    if depth > SPEC_MAX_DEPTH:
        # Block nesting (indentation), or an alias cycle: both stop here; bounds.check_values says
        # which nests too deeply, _refuse_cycles which repeats itself.
        if budget is not None:
            budget.deep = True
        return
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = _key(key_node, loader)
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append(Problem(
                    where=f"{source}:{line}:{key_node.start_mark.column + 1}",
                    message=f"key {key!r} appears twice in one mapping (first at line {seen[key]}); "
                    "YAML would silently keep only the last",
                    fix=f"keep one {key!r}",
                ))
                continue
            seen[key] = line
            child = path + (key,)
            positions[child] = (line, key_node.start_mark.column + 1)
            _walk(value_node, child, positions, duplicates, source, loader, depth + 1, budget=budget)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, path + (index,), positions, duplicates, source, loader, depth + 1, budget=budget)


def _refuse_cycles(root: yaml.Node, source: str) -> None:
    """Refuse a value that contains an alias of itself (``&a [*a]``): it would nest without end,
    and every pass after this one (constructing, copying, the schema) would recurse until the
    interpreter stops it. Each node is visited once (the composed nodes, not their expansion)."""
    on_path: set[int] = {id(root)}
    done: set[int] = set()
    stack: list[tuple[yaml.Node, Iterator[yaml.Node]]] = [(root, _children(root))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            done.add(id(node))
        elif id(child) in on_path:
            mark = child.start_mark
            raise SpecError([Problem(
                where=f"{source}:{mark.line + 1}:{mark.column + 1}",
                message="the value anchored here contains an alias of itself, so it would nest without end",
                fix="point the alias (*name) at a value outside the one it names, or write the value out")])
        elif id(child) not in done:
            on_path.add(id(child))
            stack.append((child, _children(child)))


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def _key(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        try:
            value = loader.construct_object(node)
        except yaml.YAMLError:
            return node.value
        return value if isinstance(value, (str, int, float, bool)) or value is None else node.value
    return f"<{node.tag}>"


def _syntax_problem(source: str, text: str, error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or "syntax error"
    if error.context and error.problem:
        what = f"{error.problem} ({error.context})"
    lines = text.splitlines()
    hint = None
    if error.context_mark is not None and (mark is None or mark.line >= len(lines)):
        # "unexpected end of stream" points past the last line; where the unclosed thing opened helps more.
        mark = error.context_mark
        what = f"{error.problem} ({error.context} that starts here)"
        if "quoted" in (error.context or ""):
            hint = "close the quote"
        elif "flow" in (error.context or ""):
            hint = "close the bracket or brace"
    elif error.context_mark is not None and mark is not None and error.context_mark.line != mark.line:
        what = (f"{error.problem} ({error.context} that starts at "
                f"{error.context_mark.line + 1}:{error.context_mark.column + 1})")
    if mark is None:
        return Problem(where=source, message=f"YAML syntax error: {what}")
    if mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        hint = "indent with spaces; YAML does not allow tabs for indentation"
    return Problem(
        where=f"{source}:{mark.line + 1}:{mark.column + 1}",
        message=f"YAML syntax error: {what}\n{underline(lines, mark.line, mark.column)}",
        fix=hint or "check the indentation, quoting and ':' around the marked text",
    )


def underline(lines: list[str], line: int, column: int) -> str:
    """The offending line with the token at ``column`` underlined by ``^``."""
    if line >= len(lines):
        return "    <end of file>\n    ^"
    text = lines[line].replace("\t", " ")
    end = column
    while end < len(text) and not text[end].isspace():
        end += 1
    return f"    {text}\n    {' ' * column}{'^' * max(1, end - column)}"


def _parse_json(text: str, source: str) -> list[Document]:
    """A JSON spec, read by the json module; where each node sits is found only when needed.

    Keeping line and column for every node means composing the text with PyYAML, about 20 times
    slower than ``json.loads`` (most of a 13 s ``orchestrator compile`` of 10,000 tasks). Most specs
    are valid, and a valid one never shows a position, so positions are left to
    :func:`_json_locations`, which ``from_dict`` calls only when it has a problem to report. A
    duplicate key is such a problem, and the json module would silently keep the last one, so
    ``_no_duplicates`` spots it while parsing; then the locations are found at once.
    """
    duplicated = suspect = False

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicated
        mapping = dict(pairs)
        if len(mapping) != len(pairs):
            duplicated = True
        return mapping

    # The numbers bounds.check_values refuses are seen as they are parsed: NaN and Infinity, a
    # float that overflows to infinity (1e999), an integer of 19 digits or more (2^63 - 1 has 19).
    def constant(name: str) -> float:
        nonlocal suspect
        suspect = True
        return float(name)

    def floating(digits: str) -> float:
        nonlocal suspect
        value = float(digits)
        if not math.isfinite(value):
            suspect = True
        return value

    unreadable = ""  # an integer of more digits than Python converts (sys.get_int_max_str_digits)

    def integer(digits: str) -> int:
        nonlocal suspect, unreadable
        if len(digits) > 18:
            suspect = True
        try:
            return int(digits)
        except ValueError:
            unreadable = digits
            raise

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=constant,
                          parse_float=floating, parse_int=integer)
    except RecursionError:
        raise SpecError([Problem(where=source, message="nests too deeply to read",
                                 fix="flatten the document")]) from None
    except json.JSONDecodeError as error:
        lines = text.splitlines()
        raise SpecError([Problem(
            where=f"{source}:{error.lineno}:{error.colno}",
            message=f"JSON syntax error: {error.msg}\n{underline(lines, error.lineno - 1, error.colno - 1)}",
            fix="check the commas, quotes and brackets around the marked text",
        )]) from None
    except ValueError:
        if not unreadable:
            raise
        at = text.find(unreadable)
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        raise SpecError([Problem(
            where=f"{source}:{line}:{column}",
            message=f"is an integer of {len(unreadable.lstrip('-'))} digits, out of range: AWS takes integers "
            f"up to {JSON_INT_MAX} (2^63 - 1)", fix="write a smaller number")]) from None
    # A control character can only come from an escape (JSON text refuses raw ones below U+0020)
    # or be U+007F-U+009F written as itself; the depth is bounded by _check_nesting already.
    checked = not suspect and not _control_escapes(text)
    agree = _engines_agree(text)
    if duplicated:
        positions, duplicates = _json_locations(text, source)
        if not duplicates:  # the composer could not read it: still say what is wrong
            duplicates = [Problem(where=source, message="a key appears twice in one mapping; JSON readers "
                                  "would silently keep only the last", fix="keep one of each key")]
        return [Document(data, positions, duplicates, checked, agree)]
    return [Document(data, lambda: _json_locations(text, source)[0], [], checked, agree)]


_C1_CONTROLS = re.compile("[\x7f-\x9f]")


def _control_escapes(text: str) -> bool:
    """Whether JSON text may decode to a control character: a ``\\b``, ``\\f`` or ``\\u`` escape
    (any, to be safe), or DEL and the C1 controls as they are. ``\\t``, ``\\n`` and ``\\r`` are allowed.
    Text without a backslash has no escape, which one search for a single character shows."""
    if "\\" in text and ("\\u" in text or "\\b" in text or "\\f" in text):
        return True
    return not text.isascii() and _C1_CONTROLS.search(text) is not None


def _engines_agree(text: str) -> bool:
    """Whether JSON text cannot decode to a character ``schema.is_valid`` must not decide on
    (U+001C-U+001F, U+0085, U+FEFF): the first four only come from a ``\\u`` escape (JSON refuses
    them raw), the last two also as themselves. Saves that function turning 10,000 tasks back
    into JSON text to look for them (about 70 ms for 10,000 tasks)."""
    if "\\" in text and "\\u" in text:
        return False
    return text.isascii() or ("\x85" not in text and "\ufeff" not in text)


def _json_locations(text: str, source: str) -> tuple[Positions, list[Problem]]:
    """Line:column of every key and item of a JSON spec, and its duplicate keys as problems.

    JSON is (nearly) YAML: the YAML composer keeps a mark on every node. Only positions come from
    it; values come from the json module, which reads numbers like 1e3 the JSON way. Text that the
    composer cannot read has no positions (problems then name the file only).
    """
    positions: Positions = {}
    duplicates: list[Problem] = []
    spec_loader = _spec_loader()
    try:
        node = yaml.compose(text, Loader=spec_loader)
        if node is not None:
            _walk(node, (), positions, duplicates, source, spec_loader(""))
    except yaml.YAMLError:
        return {}, []
    return positions, duplicates


# -- Python files --------------------------------------------------------------------------------
def module_name(file: FilePath) -> str:
    """``state_machines/nightly_sales.py`` -> ``state_machines.nightly_sales`` relative to the current
    directory; a unique private name when the path is outside it or not made of identifiers."""
    absolute = file.resolve()
    try:
        relative = absolute.relative_to(FilePath.cwd().resolve())
    except ValueError:
        relative = None
    if relative is not None:
        parts = list(relative.with_suffix("").parts)
        if parts and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
            return ".".join(parts)
    # orchestrator.api recognises this prefix and refers to task functions by file path instead.
    digest = hashlib.sha1(str(absolute).encode()).hexdigest()[:12]
    return f"_orchestrator_workflow_{digest}"


def _load_python(file: FilePath, source: str, known: KnownValid | None) -> tuple[model.Workflow, ...]:
    from orchestrator import api

    name = module_name(file)
    cwd = os.getcwd()
    if cwd not in sys.path:
        # So the file's own imports, and its task functions ("module:function"), resolve from here.
        sys.path.insert(0, cwd)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise SpecError([Problem(where=source, message="cannot be imported as a Python module")])
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ValidationError:
        raise  # e.g. the module called build() itself: already located at the declaring line
    except SyntaxError as error:
        _restore(name, previous)
        raise SpecError([_python_syntax_problem(source, error)]) from None
    except (Exception, SystemExit) as error:
        _restore(name, previous)
        raise SpecError([_import_problem(file, source, error)]) from None
    found: list[model.Workflow] = []
    seen: set[int] = set()
    errors: list[Problem] = []
    # Builders made by a factory in another module count too, so no filtering by source file;
    # one bound to several names counts once.
    for value in list(vars(module).values()):
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, api.Workflow):
            try:
                found.append(value._build(known))
            except ValidationError as error:
                errors.extend(error.problems)
        elif isinstance(value, model.Workflow):
            found.append(value)
    if errors:
        raise ValidationError(errors)
    if not found:
        raise SpecError([Problem(
            where=source,
            message=NO_WORKFLOW,
            fix='declare one at module level, e.g.\n    from orchestrator import Workflow\n'
                '    wf = Workflow("nightly-sales", schedule="cron(10 2 * * ? *)")',
        )])
    return tuple(found)


def _restore(name: str, previous: Any) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _python_syntax_problem(source: str, error: SyntaxError) -> Problem:
    line, column = error.lineno or 1, error.offset or 1
    text = error.text.rstrip("\n") if error.text else ""
    message = f"Python syntax error: {error.msg}"
    if text:
        message += f"\n{underline([text], 0, max(0, column - 1))}"
    return Problem(where=f"{source}:{line}:{column}", message=message,
                   fix="fix the syntax at the marked text")


def _import_problem(file: FilePath, source: str, error: BaseException) -> Problem:
    import traceback  # with textwrap, a few ms that only a module failing to import needs

    frames = traceback.extract_tb(error.__traceback__)
    here = os.path.realpath(file)
    own = [f for f in frames if os.path.realpath(f.filename) == here]
    frame = own[-1] if own else None
    where = f"{source}:{frame.lineno}" if frame else source
    deepest = frames[-1] if frames else None
    fix = f"fix the error raised at line {frame.lineno}: {frame.line}" if frame and frame.line else None
    if deepest is not None and frame is not None and deepest is not frame:
        fix = (fix or "fix the error") + f" (it was raised inside {deepest.filename}:{deepest.lineno})"
    return Problem(where=where, message=f"importing it raised {type(error).__name__}: {error}", fix=fix)
