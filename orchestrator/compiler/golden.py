"""Regenerate (or check) the checked-in compiled ASL next to example workflows.

    python -m orchestrator.compiler.golden                  # state_machines/*.py|*.yaml → *.asl.json
    python -m orchestrator.compiler.golden --check          # exit 1 if any file is stale
    python -m orchestrator.compiler.golden tests/fixtures/compiler

Each workflow source (``*.py`` declaring a ``Workflow(``, ``*.yaml``, ``*.yml``, ``*.json`` that is
not ``*.asl.json``) is loaded with ``orchestrator.load_all`` and compiled; every machine it
produces (children of split workflows included) is written as ``<machine>.asl.json`` in the same
directory. Python helper modules without a workflow are skipped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from orchestrator.compiler import compile_workflow

SUFFIXES = (".py", ".yaml", ".yml", ".json")


def sources(directory: Path) -> Iterator[Path]:
    """Workflow sources in ``directory``, sorted by name."""
    for path in sorted(directory.iterdir()):
        if path.name.startswith("_") or path.name.endswith(".asl.json") or path.suffix not in SUFFIXES:
            continue
        if path.suffix == ".py" and "Workflow(" not in path.read_text(encoding="utf-8"):
            continue  # a helper module (job code, shared constants), not a workflow
        yield path


def expected(directory: Path) -> dict[Path, str]:
    """Every ``.asl.json`` the sources in ``directory`` compile to, with its text."""
    import orchestrator

    out: dict[Path, str] = {}
    for source in sources(directory):
        for wf in orchestrator.load_all(source):
            result = compile_workflow(wf)
            for name, text in result.texts.items():
                out[directory / f"{name}.asl.json"] = text
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.compiler.golden", description=__doc__)
    parser.add_argument("directories", nargs="*", default=["state_machines"])
    parser.add_argument("--check", action="store_true", help="report stale files instead of writing")
    args = parser.parse_args(argv)
    root = str(Path.cwd())
    if root not in sys.path:
        sys.path.insert(0, root)  # examples import their helper modules as `state_machines.x`
    stale: list[Path] = []
    for directory in map(Path, args.directories):
        for path, text in expected(directory).items():
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current == text:
                continue
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path}")
    if args.check and stale:
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        print("regenerate with: python -m orchestrator.compiler.golden", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
