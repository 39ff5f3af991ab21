"""Errors raised while an ASL state runs.

``StatesError`` carries an AWS error name (``States.Runtime``, ``States.QueryEvaluationError``,
``Lambda.AWSLambdaException`` ...) and the cause text AWS would report. It is what Retry and
Catch match on, so every module of the engine (paths, intrinsics, JSONata, integrations) raises
this one type for failures that belong to the state machine, never for the engine's own bugs.
"""

from __future__ import annotations


class StatesError(Exception):
    """A state failed with an AWS error name and an optional cause.

    >>> e = StatesError("States.Runtime", "The JSONPath '$.a' could not be found")
    >>> (e.error, e.cause)
    ('States.Runtime', "The JSONPath '$.a' could not be found")
    """

    def __init__(self, error: str, cause: str | None = None) -> None:
        self.error = error
        self.cause = cause
        super().__init__(f"{error}: {cause}" if cause is not None else error)
