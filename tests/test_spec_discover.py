"""Finding a project's workflows (``spec.discover``): one rule for validate, compile and the CDK app."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from orchestrator import model
from orchestrator.errors import SpecError
from orchestrator.spec import discover

ROOT = Path(__file__).resolve().parents[1]


def test_docstring_examples() -> None:
    result = doctest.testmod(discover)
    assert result.attempted > 0 and result.failed == 0


def test_the_examples_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    files = discover.workflow_files("state_machines")
    assert [p.name for p in files] == ["daily_report.yaml", "disk_hygiene.yaml", "etl_fanout.py", "etl_jobs.py",
                                       "nightly_sales.py", "sales_jobs.py"]  # no __init__.py, no .asl.json
    found = {p.name: [wf.name for wf in wfs] for p, wfs in discover.load_paths(["state_machines"])}
    assert found["sales_jobs.py"] == [] and found["nightly_sales.py"] == ["nightly-sales"]


def test_a_named_module_must_define_a_workflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(SpecError, match="state_machines/sales_jobs.py: defines no workflow at module level"):
        discover.load_paths(["state_machines/sales_jobs.py"])


def test_a_broken_module_found_in_a_directory_is_still_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import nowhere_to_be_found\n")
    with pytest.raises(SpecError, match="nowhere_to_be_found"):
        discover.load_paths([tmp_path])


def test_unique_names() -> None:
    wf = model.Workflow(name="a", tasks=())
    discover.unique_names([wf, model.Workflow(name="b", tasks=())], "here")
    with pytest.raises(SpecError) as raised:
        discover.unique_names([wf, wf], "here")
    (problem,) = raised.value.problems
    assert (problem.where, problem.message) == ("here", "workflow names must be unique; repeated: a")
