"""``orchestrator show``: templated commands rendered by the engine for the next fire."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator import spec
from orchestrator.cli import main
from orchestrator.preview import next_run_lines

EXAMPLE = Path(__file__).resolve().parents[1] / "state_machines" / "daily_report.yaml"


def test_next_fire_across_the_spring_change() -> None:
    wf = spec.load(EXAMPLE)
    # 06:00 Berlin on 29 March 2026 is the first morning of summer time: 04:00 UTC, not 05:00.
    assert next_run_lines(wf, datetime(2026, 3, 28, 6, 0, tzinfo=UTC)) == [
        "next run, scheduled_time 2026-03-29T04:00:00Z (daily-report-20260329T040000Z):",
        "  report: sh -c 'echo \"report for $REPORT_DAY, run daily-report-20260329T040000Z at 06h\"'",
        "    REPORT_DAY=2026-03-28",
        "    SCHEDULED=2026-03-29T04:00:00Z",
    ]


def test_show_prints_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "next run, scheduled_time " in out and "    REPORT_DAY=" in out


def test_an_input_field_the_input_lacks_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "w.yaml").write_text(
        "name: w\ntasks:\n  - name: t\n    batch: {image: x, command: [run, '{{ input.region }}']}\n")
    assert main(["show", str(tmp_path / "w.yaml")]) == 1
    assert capsys.readouterr().err.startswith(
        "error: task 't': its template cannot be rendered for this input: States.Runtime: ")
    assert main(["show", str(tmp_path / "w.yaml"), "--input", '{"region": "eu"}']) == 0
    assert "  t: run eu" in capsys.readouterr().out
