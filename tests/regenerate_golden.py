"""Regenerate (or check) the golden compiled ASL the tests compare against, after a deliberate
compiler change; then review the diff.

    python tests/regenerate_golden.py          # write state_machines/*.asl.json and tests/fixtures/compiler/
    python tests/regenerate_golden.py --check  # exit 1 naming each stale or missing file

Each directory is its own ``orchestrator compile DIR --out DIR`` (``--check``), run from the
repository root (the examples import their helpers as ``state_machines.<module>``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIRECTORIES = ("state_machines", "tests/fixtures/compiler")


def main(argv: list[str]) -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    from orchestrator.asl_files import compile_command

    check = "--check" in argv
    status = 0
    for directory in DIRECTORIES:
        status |= compile_command([directory], directory, check=check, report=False,
                                  warn=lambda line: print(line, file=sys.stderr))
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
