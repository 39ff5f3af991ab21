"""Compiled ASL files on disk (``orchestrator.asl_files``): written, or checked without writing."""

from __future__ import annotations

import doctest
import gc
from pathlib import Path
from typing import Any

import pytest

from orchestrator import asl_files

SPEC = "name: hello\ntasks:\n  - name: hi\n    batch: {image: alpine:3}\n"


def test_docstring_examples() -> None:
    result = doctest.testmod(asl_files)
    assert result.attempted > 0 and result.failed == 0


def test_check_names_missing_and_stale_files_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "hello.yaml").write_text(SPEC)
    out = tmp_path / "out"
    lines: list[str] = []
    assert asl_files.compile_command([str(tmp_path)], str(out), check=True, report=False, warn=lines.append) == 1
    assert lines == [f"missing: {out / 'hello.asl.json'}", f"regenerate with: orchestrator compile {tmp_path} --out {out}"]
    assert not out.exists()
    assert asl_files.compile_command([str(tmp_path)], str(out), check=False, report=False, echo=lines.append) == 0
    assert asl_files.stale([tmp_path], out) == []
    assert (out / "hello.asl.json").read_text() == asl_files.expected([tmp_path], out)[out / "hello.asl.json"]


def test_specs_are_loaded_with_the_collector_paused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hello.yaml").write_text(SPEC)
    seen: list[bool] = []
    load_paths = asl_files.load_paths

    def spy(paths: Any) -> Any:
        seen.append(gc.isenabled())
        return load_paths(paths)

    monkeypatch.setattr(asl_files, "load_paths", spy)
    assert gc.isenabled()
    assert [r.main for r in asl_files.compiled([tmp_path])] == ["hello"]
    assert seen == [False] and gc.isenabled()
    assert asl_files.compile_command([str(tmp_path)], str(tmp_path / "out"), check=False, report=False,
                                     echo=lambda line: seen.append(gc.isenabled())) == 0
    assert seen == [False, False, False] and gc.isenabled()  # loaded, and wrote: still paused
