"""One error hierarchy for every user-facing problem.

A user error names where (file:line:column, task, field), what was got, and the fix. The CLI
prints these without a traceback; anything else escaping is a bug in this package and keeps its
traceback on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def closest(word: str, options: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The option most like ``word``, for a problem's "did you mean", or None when none is close
    (``difflib.get_close_matches``, imported here on first use: only a problem needs it)."""
    import difflib

    found = difflib.get_close_matches(word, list(options), n=1, cutoff=cutoff)
    return found[0] if found else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One located problem: ``where`` is e.g. ``spec.yaml:12:5`` or ``task 'report' field 'timeout'``."""

    where: str
    message: str
    fix: str | None = None

    def render(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


class OrchestratorError(Exception):
    """Base of every error this package raises on purpose."""


class ValidationError(OrchestratorError):
    """A workflow (spec or Python) has one or more problems; all of them are collected here."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class SpecError(ValidationError):
    """The spec file cannot be read or parsed (missing file, YAML syntax, bad Python module)."""


class CompileError(OrchestratorError):
    """The compiler cannot turn a valid workflow into ASL (e.g. a quota that cannot be met)."""


class DefinitionError(OrchestratorError):
    """An ASL definition is invalid, as ValidateStateMachineDefinition would report."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


class NotAWorkflowError(ValidationError):
    """Something other than a workflow (the builder or the model) was passed where one is expected."""
