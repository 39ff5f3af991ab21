"""The checked-in compiled ASL (``state_machines/*.asl.json``, ``tests/fixtures/compiler``) is what
the compiler produces now, byte for byte. Regenerate with ``python tests/regenerate_golden.py``
(each directory an ``orchestrator compile DIR --out DIR``) after a deliberate change, and review
the diff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.asl_files import expected

ROOT = Path(__file__).resolve().parents[1]
DIRECTORIES = [ROOT / "state_machines", ROOT / "tests" / "fixtures" / "compiler"]


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_golden_files_are_current(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples import their helpers as state_machines.<module>
    files = expected([directory], directory)
    assert files, f"no workflow sources found in {directory}"
    for path, text in files.items():
        assert path.exists(), f"{path.name} missing: run python tests/regenerate_golden.py"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python tests/regenerate_golden.py (and review the diff)"
        )


def test_every_example_has_its_golden_file() -> None:
    compiled = {p.name for p in (ROOT / "state_machines").glob("*.asl.json")}
    assert {"nightly-sales.asl.json", "etl-fanout.asl.json", "disk-hygiene.asl.json"} <= compiled


def test_the_regeneration_script_checks_without_writing() -> None:
    before = {p: p.stat().st_mtime_ns for d in DIRECTORIES for p in d.glob("*.asl.json")}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "regenerate_golden.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.splitlines() == [
        "ok: the compiled files in state_machines are current",
        "ok: the compiled files in tests/fixtures/compiler are current"]
    assert before == {p: p.stat().st_mtime_ns for d in DIRECTORIES for p in d.glob("*.asl.json")}
