"""The checked-in compiled ASL (``state_machines/*.asl.json``, ``tests/fixtures/compiler``) is what
the compiler produces now, byte for byte. Regenerate with ``python -m orchestrator.compiler.golden``
(and ``... golden tests/fixtures/compiler``) after a deliberate change, and review the diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.compiler.golden import expected

ROOT = Path(__file__).resolve().parents[1]
DIRECTORIES = [ROOT / "state_machines", ROOT / "tests" / "fixtures" / "compiler"]


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_golden_files_are_current(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples import their helpers as state_machines.<module>
    files = expected(directory)
    assert files, f"no workflow sources found in {directory}"
    for path, text in files.items():
        assert path.exists(), f"{path.name} missing: run python -m orchestrator.compiler.golden"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python -m orchestrator.compiler.golden {directory.relative_to(ROOT)}"
        )


def test_every_example_has_its_golden_file() -> None:
    compiled = {p.name for p in (ROOT / "state_machines").glob("*.asl.json")}
    assert {"nightly-sales.asl.json", "etl-fanout.asl.json", "disk-hygiene.asl.json"} <= compiled
