"""local.kept: a workflow loaded again unchanged is built without being checked again."""

from __future__ import annotations

import contextlib
import enum
import os
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import ValidationError
from orchestrator.local import kept
from orchestrator.local.kept import ValidDocuments
from orchestrator.local.store import VALID_DOCUMENTS_KEPT, Store
from orchestrator.spec import from_dict, select

HELLO = {"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3", "command": ["echo", "hi"]}}]}
PYTHON_WF = """from orchestrator import Workflow

wf = Workflow('kept-py')


@wf.task(timeout='1m')
def hello(event, context):
    return {'ok': True}
"""


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the documents the semantic checks ran on."""
    from orchestrator.spec import checks as module

    seen: list[str] = []
    real = module.semantic_issues

    def spy(document: dict[str, Any], **kwargs: Any) -> Any:
        seen.append(document.get("name"))
        return real(document, **kwargs)

    monkeypatch.setattr(module, "semantic_issues", spy)
    return seen


def test_a_document_found_valid_is_built_again_without_the_checks(tmp_path: Path, checks: list[str]) -> None:
    known = ValidDocuments(tmp_path / "home")
    first = from_dict(HELLO, known=known)
    assert checks == ["hello"]
    again = from_dict(HELLO, known=ValidDocuments(tmp_path / "home"))
    assert checks == ["hello"] and again == first == from_dict(HELLO)
    changed = {**HELLO, "tasks": [{**HELLO["tasks"][0], "timeout": 60}]}
    assert from_dict(changed, known=ValidDocuments(tmp_path / "home")).tasks[0].timeout == 60
    assert checks == ["hello", "hello", "hello"]
    known.close()


def test_an_invalid_document_is_never_kept_and_reported_every_time(tmp_path: Path) -> None:
    bad = {"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}, "timout": 5}]}
    for _ in range(2):
        known = ValidDocuments(tmp_path / "home")
        with pytest.raises(ValidationError, match="unknown field 'timout'; did you mean 'timeout'"):
            from_dict(bad, known=known)
        known.close()
    # Looking up leaves no store behind: a workflow that does not load creates none.
    assert not (tmp_path / "home").exists()


class Level(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize("document", [
    {"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3", "vcpus": Level.ONE}}]},
    {"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3", "environment": {1: "x"}}}]},
    {"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}, "expected_duration": float("nan")}]},
])
def test_a_document_that_is_not_only_json_data_is_never_kept(tmp_path: Path, document: dict[str, Any]) -> None:
    # Its JSON text would stand for another document too (1 for Level.ONE, "1" for the key 1).
    known = ValidDocuments(tmp_path / "home")
    known.store()
    assert document not in known
    with contextlib.suppress(ValidationError):
        from_dict(document, known=known)
    assert document not in known
    assert Store(tmp_path / "home")._query("SELECT count(*) FROM valid_documents") == [(0,)]
    known.close()


def test_an_edited_package_checks_again(tmp_path: Path, checks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from_dict(HELLO, known=ValidDocuments(tmp_path / "home"))
    monkeypatch.setattr(kept, "package_fingerprint", lambda: "another package")
    from_dict(HELLO, known=ValidDocuments(tmp_path / "home"))
    assert checks == ["hello", "hello"]


def test_a_python_workflow_loaded_again_is_not_checked_again(tmp_path: Path, checks: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "kept_wf.py").write_text(PYTHON_WF)
    models = [select("kept_wf.py", known=ValidDocuments(tmp_path / "home")) for _ in range(2)]
    assert checks == ["kept-py"] and models[0] == models[1] == select("kept_wf.py")


def test_the_store_keeps_the_newest_valid_documents(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    for n in range(VALID_DOCUMENTS_KEPT + 3):
        store.put_valid_document(f"d{n}")
    assert not store.valid_document("d2") and store.valid_document("d3")
    assert store.valid_document(f"d{VALID_DOCUMENTS_KEPT + 2}")
    store.close()


def test_the_fingerprint_covers_the_spec_schema_the_checks_validate_against() -> None:
    # Editing the schema must check kept documents again, as editing a module does.
    from orchestrator.local.kept import package_fingerprint

    lines = package_fingerprint.__wrapped__().splitlines()
    assert any(line.startswith(os.path.join("spec", "workflow.schema.json") + " ") for line in lines)
    assert any(line.startswith(os.path.join("local", "kept.py") + " ") for line in lines)
