"""``from_dict``: check a spec document (schema, then semantics), report every problem located, and
build the model.

A problem's ``where`` is ``file:line:column`` (from ``positions``, keyed by JSON path; the nearest
ancestor when the exact path has none) followed by the task and field it concerns, e.g.
``nightly.yaml:12:7: task 'report' field 'timeout'``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from orchestrator import model
from orchestrator.errors import Problem, ValidationError
from orchestrator.spec.convert import build
from orchestrator.spec.issues import Issue, Path, kind_of

# The checks (``checks``, ``schema`` and jsonschema-rs behind it, ~10 ms to import) are imported
# where a document is checked: one already known valid (``KnownValid``) is only built.

Positions = Mapping[tuple[str | int, ...], tuple[int, int]]
# Positions, or a function finding them: called only when there is a problem to locate, since
# finding them can cost far more than validating (a JSON spec re-read by the YAML composer).
LazyPositions = Positions | Callable[[], Positions]


class KnownValid(Protocol):
    """Documents this package has found valid before (``local.kept.ValidDocuments`` keeps them
    for ``orchestrator run``). Validating is pure, a function of the document and this package,
    so a document found valid once is built again without being checked again."""

    def __contains__(self, document: object) -> bool: ...

    def add(self, document: dict[str, Any]) -> None:
        """Record ``document`` (plain dicts and lists) as found valid."""


def plain(value: Any) -> Any:
    """Mappings as dicts and tuples as lists, so the schema sees JSON types whatever the caller used."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def problems(data: Any, *, source: str = "<spec>", positions: LazyPositions | None = None) -> list[Problem]:
    """Every problem in ``data``, located and ordered by position; empty when it is valid.

    ``positions`` may be a function returning them: it is called only if there are problems.
    """
    return _problems(plain(data), source, positions)


def _problems(
    document: Any, source: str, positions: LazyPositions | None, *, values_checked: bool = False,
    engines_agree: bool = False,
) -> list[Problem]:
    if not isinstance(document, dict):
        return [Problem(
            where=locate((), source, _resolve(positions), document),
            message=f"a workflow spec is a mapping with 'name' and 'tasks'; got {kind_of(document)}",
            fix='name: "nightly-sales"\ntasks:\n  - name: "hello"\n    batch: {image: "alpine:3", command: ["echo", "hi"]}',
        )]
    found = _unordered_issues(document, values_checked=values_checked, engines_agree=engines_agree)
    if not found:
        return []
    where = _resolve(positions)
    return [render(issue, source, where, document) for issue in _ordered(found, where, document)]


def _resolve(positions: LazyPositions | None) -> Positions | None:
    return positions() if callable(positions) else positions


def issues(document: dict[str, Any], positions: Positions | None = None) -> list[Issue]:
    """Schema and semantic issues, without repeats: at a path with a semantic issue, the schema's
    issues are dropped (the semantic check says the same with more context)."""
    return _ordered(_unordered_issues(document), positions, document)


def _unordered_issues(
    document: dict[str, Any], *, values_checked: bool = False, engines_agree: bool = False
) -> list[Issue]:
    from orchestrator.spec.checks import semantic_issues
    from orchestrator.spec.schema import schema_issues

    semantic = semantic_issues(document, values_checked=values_checked)
    taken = {issue.path for issue in semantic}
    schema = schema_issues(document, engines_agree=engines_agree)
    merged = [issue for issue in schema if issue.path not in taken] + semantic
    return list(dict.fromkeys(merged))


def _ordered(unique: list[Issue], positions: Positions | None, document: Any) -> list[Issue]:
    """By position in the text, then by place in the document, then as found."""
    order = {id(issue): n for n, issue in enumerate(unique)}
    return sorted(
        unique,
        key=lambda i: (_position(i.path, positions) or (0, 0), _document_order(i.path, document), order[id(i)]),
    )


def _document_order(path: Path, document: Any) -> tuple[int, ...]:
    """Where ``path`` comes in the document: key order in mappings, index in lists."""
    out: list[int] = []
    node = document
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            out.append(keys.index(part) if part in node else len(keys))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            out.append(part)
            node = node[part] if part < len(node) else None
        else:
            out.append(0)
            node = None
    return tuple(out)


def from_dict(
    data: Mapping[str, Any], *, source: str = "<spec>", positions: LazyPositions | None = None,
    known: KnownValid | None = None,
) -> model.Workflow:
    """Validate a spec document and return its model; ``ValidationError`` lists every problem.

    ``positions`` (JSON path to line and column) locate the problems; it may be a function that
    finds them, called only when there is a problem to report. A document in ``known`` is built
    without being checked; one found valid is added to it.

        >>> wf = from_dict({"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}}]})
        >>> wf.tasks[0].job.image
        'alpine:3'
        >>> from_dict({"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}, "timout": 5}]})
        Traceback (most recent call last):
        ...
        orchestrator.errors.ValidationError: <spec>: task 'hi' field 'timout': unknown field 'timout'; did you mean 'timeout'?
            fix: rename 'timout' to 'timeout'
    """
    document = plain(data)  # once: a copy of 10,000 tasks takes a tenth of a second
    return _checked(document, known, lambda: _problems(document, source, positions))


def _checked(document: Any, known: KnownValid | None, problems: Callable[[], list[Problem]]) -> model.Workflow:
    if known is not None and document in known:
        return build(document)
    found = problems()
    if found:
        raise ValidationError(found)
    workflow = build(document)
    if known is not None:
        known.add(document)
    return workflow


def from_loaded(
    document: Any, *, source: str, positions: LazyPositions | None, values_checked: bool,
    engines_agree: bool = False, known: KnownValid | None = None,
) -> model.Workflow:
    """``from_dict`` for a document a loader has just parsed into dicts and lists of its own.

    It is validated and built as it is, without ``from_dict``'s copy (nothing else holds it, and
    nothing shares its parts); ``values_checked`` says the loader has already made sure that no
    value would be reported by ``bounds.check_values`` (no non-finite number, integer past 64
    bits, control character or deep nesting), so that walk over every value is skipped;
    ``engines_agree`` that it holds none of the characters ``schema.is_valid`` looks for.

        >>> from_loaded({"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}}]},
        ...             source="hello.json", positions=None, values_checked=False).name
        'hello'
    """
    return _checked(document, known, lambda: _problems(document, source, positions, values_checked=values_checked,
                                                       engines_agree=engines_agree))


# -- locating ------------------------------------------------------------------------------------
def _position(path: Path, positions: Positions | None) -> tuple[int, int] | None:
    if not positions:
        return None
    for end in range(len(path), -1, -1):
        found = positions.get(path[:end])
        if found is not None:
            return found
    return None


def locate(path: Path, source: str, positions: Positions | None, document: Any) -> str:
    """``file:line:column`` (or ``file:line`` when the column is unknown, 0) and what is at ``path``."""
    position = _position(path, positions)
    where = source
    if position is not None:
        line, column = position
        where = f"{source}:{line}:{column}" if column else f"{source}:{line}"
    subject = describe(path, document)
    return f"{where}: {subject}" if subject else where


def describe(path: Path, document: Any) -> str:
    """``task 'report' field 'batch.memory'``, ``queue 'gpu' field 'priority'``, ``field 'schedule'``."""
    if not path:
        return ""
    owner = ""
    rest = path
    if len(path) >= 2 and path[0] in ("tasks", "queues") and isinstance(path[1], int):
        items = document.get(path[0]) if isinstance(document, dict) else None
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
        name = item.get("name") if isinstance(item, dict) else None
        noun = "task" if path[0] == "tasks" else "queue"
        owner = f"{noun} {name!r}" if isinstance(name, str) and name else f"{path[0]}[{path[1]}]"
        rest = path[2:]
    field = ""
    for part in rest:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    if owner and field:
        return f"{owner} field {field!r}"
    return owner or f"field {field!r}"


def render(issue: Issue, source: str, positions: Positions | None, document: Any) -> Problem:
    return Problem(where=locate(issue.path, source, positions, document), message=issue.message, fix=issue.fix)
