"""Compiled ASL files on disk: ``orchestrator compile`` writes them, ``--check`` compares them.

The compiler itself is pure (no files, no clock); this is where its output meets the disk. Each
workflow of the given paths (files, or directories standing for their workflow files, see
``spec.discover``) is compiled, and every machine it produces (children of a split workflow
included) is ``OUT/<machine>.asl.json`` (contract 2 of DESIGN.md). ``--check`` writes nothing and
fails naming each file that is missing or differs, so the checked-in examples (and the golden
test fixtures) can be kept current in CI:

    orchestrator compile state_machines --out state_machines --check

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "hello.yaml").write_text("name: hello\\ntasks:\\n  - name: hi\\n    batch: {image: alpine:3}\\n")
    >>> sorted(path.name for path in expected([root], root))
    ['hello.asl.json']
    >>> [(what, path.name) for what, path in stale([root], root)]
    [('missing', 'hello.asl.json')]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from orchestrator import model
from orchestrator.compiler import CompileResult, compile_workflow, frames
from orchestrator.errors import Problem, SpecError
from orchestrator.spec.discover import load_paths


def compiled(paths: Iterable[str | os.PathLike[str]]) -> list[CompileResult]:
    """Every workflow of ``paths``, compiled, in file order."""
    return [result for _, result in _compiled(paths)]


def _compiled(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[model.Workflow, CompileResult]]:
    """Each workflow of ``paths`` with what it compiles to.

    The collector is paused while the specs are loaded too, not only while they are compiled
    (``compile_workflow`` pauses it itself): the 10,000 tasks of a large spec are as many dicts,
    lists and model objects that all stay alive, so its passes over them free nothing.
    """
    with frames.paused_gc():
        return [(wf, compile_workflow(wf)) for _, workflows in load_paths(paths) for wf in workflows]


def expected(paths: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str]) -> dict[Path, str]:
    """Every ``OUT/<machine>.asl.json`` the workflows of ``paths`` compile to, with its text."""
    return _files(compiled(paths), out)


def _files(results: Iterable[CompileResult], out: str | os.PathLike[str]) -> dict[Path, str]:
    """The files ``results`` make in ``out``; two machines of one name would overwrite each other."""
    files: dict[Path, str] = {}
    owner: dict[Path, str] = {}
    for result in results:
        for name, text in result.texts.items():
            path = Path(out) / f"{name}.asl.json"
            if path in owner:
                raise SpecError([Problem(
                    where=str(path), message=f"is compiled from both workflow '{owner[path]}' and '{result.main}'",
                    fix="give the workflows different names")])
            owner[path] = result.main
            files[path] = text
    return files


def stale(paths: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """``("missing" | "stale", path)`` for each compiled file of ``paths`` not as it should be in ``out``."""
    found: list[tuple[str, Path]] = []
    for path, text in expected(paths, out).items():
        if not path.is_file():
            found.append(("missing", path))
        elif path.read_text(encoding="utf-8") != text:
            found.append(("stale", path))
    return found


def compile_command(paths: Sequence[str], out: str, *, check: bool, report: bool,
                    echo: Callable[[str], None] = print, warn: Callable[[str], None] = print) -> int:
    """``orchestrator compile PATH... --out DIR [--check] [--report]``; the exit status.

    The collector stays paused until the command's workflows and results are freed: resumed
    while they were alive, its first pass would walk every one of the millions of objects made
    since it paused (70 ms for 10,000 tasks) only to find them all still in use.
    """
    with frames.paused_gc():
        return _compile_command(paths, out, check=check, report=report, echo=echo, warn=warn)


def _compile_command(paths: Sequence[str], out: str, *, check: bool, report: bool,
                     echo: Callable[[str], None], warn: Callable[[str], None]) -> int:
    if check:
        problems = stale(paths, out)
        for what, path in problems:
            warn(f"{what}: {path}")
        if problems:
            warn(f"regenerate with: orchestrator compile {' '.join(paths)} --out {out}")
            return 1
        echo(f"ok: the compiled files in {out} are current")
        return 0
    pairs = _compiled(paths)
    _files((result for _, result in pairs), out)  # nothing is written when two machines would share a file
    for wf, result in pairs:
        for written in result.write(out):
            echo(f"wrote {written}")
        if report:
            from orchestrator.cost import estimate

            echo(result.report.render())
            echo(estimate(wf, result).line())
    return 0
