"""Finding the workflows of a project: the workflow files of a directory, and loading them.

One rule for every command that takes a directory (``orchestrator validate DIR``, ``orchestrator
compile DIR``) and for the CDK app's default ``state_machines/``: the ``*.py``, ``*.yaml`` and
``*.yml`` files directly in it (not ``__init__.py``), in name order. A Python module found this
way that defines no workflow (a helper such as ``sales_jobs.py``) is passed over; a file named
explicitly must define one. JSON specs are loaded when named: a directory's ``.json`` files are
as often compiled ASL, mock configs or substitutions.

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "hello.yaml").write_text("name: hello\\ntasks:\\n  - name: hi\\n    batch: {image: alpine:3}\\n")
    >>> _ = (root / "helpers.py").write_text("GREETING = 'hi'\\n")
    >>> [(path.name, [wf.name for wf in found]) for path, found in load_paths([root])]
    [('hello.yaml', ['hello']), ('helpers.py', [])]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from orchestrator import model
from orchestrator.errors import Problem, SpecError
from orchestrator.spec.loader import NO_WORKFLOW, load_all

# The workflow files of a directory (not recursive): what ``workflow_files`` and the CDK app's
# default patterns take.
WORKFLOW_GLOBS = ("*.py", "*.yaml", "*.yml")


def workflow_files(directory: str | os.PathLike[str], globs: Sequence[str] = WORKFLOW_GLOBS) -> list[Path]:
    """The files of ``directory`` matching ``globs`` (relative patterns), ``__init__.py`` left out, sorted."""
    root = Path(directory)
    return sorted({p for pattern in globs for p in root.glob(pattern) if p.is_file() and p.name != "__init__.py"})


def load_found(path: str | os.PathLike[str]) -> tuple[model.Workflow, ...]:
    """The workflows of a file found in a directory: none when it is a module that defines none."""
    try:
        return load_all(path)
    except SpecError as error:
        if all(p.message == NO_WORKFLOW for p in error.problems):
            return ()
        raise


def load_paths(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, tuple[model.Workflow, ...]]]:
    """``(file, its workflows)`` for each path: a directory stands for its workflow files (a module
    without a workflow gives ``()``), a file must define at least one. Stops at the first file with
    a problem; ``orchestrator validate`` loads file by file (``expand`` and ``load_found``) to report
    every file's problems."""
    return [(file, load_found(file) if found else load_all(file)) for file, found in expand(paths)]


def expand(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, bool]]:
    """``(file, found in a directory)`` for each path: a directory's workflow files, or the file itself."""
    out: list[tuple[Path, bool]] = []
    for path in paths:
        given = Path(path)
        if given.is_dir():
            out.extend((file, True) for file in workflow_files(given))
        else:
            out.append((given, False))
    return out


def unique_names(workflows: Iterable[model.Workflow], where: str) -> None:
    """Raise ``SpecError`` when two workflows share a name (their state machines would collide)."""
    names = [wf.name for wf in workflows]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SpecError([Problem(
            where=where, message=f"workflow names must be unique; repeated: {', '.join(repeated)}",
            fix="rename one of each pair (the name is the state machine's name)")])
