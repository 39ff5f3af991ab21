"""The bad-input corpus: each ``tests/bad_specs/*.yaml`` with its exact problems in ``*.expected``.

Each expected file is the rendered problems, one after another, with file:line:column. To add a
case, write the YAML, run the check, read the output carefully, and save it as the .expected file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.errors import SpecError, ValidationError
from orchestrator.spec import load, validate_file

BAD = Path(__file__).parent / "bad_specs"
CASES = sorted(p.name for p in BAD.glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", CASES)
def test_bad_spec(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    expected = (BAD / name).with_suffix(".expected").read_text()
    problems = validate_file(name)
    assert problems, f"{name} should be invalid"
    assert "".join(p.render() + "\n" for p in problems) == expected


@pytest.mark.parametrize("name", ["yaml_syntax.yaml", "yaml_tab.yaml", "not_a_mapping.yaml"])
def test_unreadable_specs_raise_spec_error_or_validation_error(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    with pytest.raises(ValidationError) as caught:
        load(name)
    if name.startswith("yaml_"):
        assert isinstance(caught.value, SpecError)


def test_every_problem_has_a_location_and_most_have_a_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    problems = [p for name in CASES for p in validate_file(name)]
    assert all(p.where.split(":")[1].isdigit() for p in problems)
    with_fix = [p for p in problems if p.fix]
    assert len(with_fix) / len(problems) > 0.9
