"""The schema check: jsonschema-rs decides "valid" quickly, jsonschema says what is wrong."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
import yaml
from test_spec_loader import _expanded_size_at_most

from orchestrator.spec.schema import _ENGINES_DIFFER, is_valid, schema, schema_issues

BAD_SPECS = Path(__file__).parent / "bad_specs"
VALID = {"name": "hello", "tasks": [{"name": "hi", "batch": {"image": "alpine:3"}}]}


def _patterns(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern":
                found.add(value)
            elif key == "patternProperties":
                found.update(value)
            found |= _patterns(value)
    elif isinstance(node, list):
        for value in node:
            found |= _patterns(value)
    return found


# A string each pattern accepts, to insert characters into.
EXAMPLES = ["x-a", "arn:aws:sns:a", "https://a", "cron(1)", "a.b:c", "a:b", "ab", "a_b-1"]


def test_quick_check_never_accepts_what_jsonschema_rejects() -> None:
    """Every pattern of the schema, every character of the first 12,288 code points and the
    whitespace-like ones beyond, at the start, middle and end of a string the pattern accepts:
    where jsonschema-rs accepts and Python's re (jsonschema's) rejects, the character must be one
    ``is_valid`` refuses to decide on."""
    patterns = _patterns(schema())
    assert len(patterns) >= 8
    chars = [chr(c) for c in range(0x3000)] + [chr(c) for c in (0x1680, 0x180E, 0x205F, 0x3000, 0xFEFF)]
    chars += [chr(c) for c in range(0x2000, 0x2030)]
    for pattern in patterns:
        python = re.compile(pattern)
        rust = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
        example = next(e for e in EXAMPLES if python.search(e))
        for char in chars:
            for probe in (char + example, example[:1] + char + example[1:], example + char):
                if rust.is_valid(probe) and not python.search(probe):
                    text = json.dumps(probe, ensure_ascii=False)
                    assert _ENGINES_DIFFER.search(text), (pattern, hex(ord(char)))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # Python's re counts these as whitespace, so "\\S" rejects them; jsonschema-rs accepts.
        ("function", "jobs:run\x1c"),
        ("function", "jobs:run\x1f"),
        ("function", "jobs:run\x85"),
        # jsonschema-rs counts U+FEFF as whitespace, so "^\\s*cron(" accepts; Python's re rejects.
        ("schedule", "\ufeffcron(0 2 * * ? *)"),
    ],
)
def test_characters_the_engines_disagree_on_go_to_jsonschema(field: str, value: str) -> None:
    document: dict[str, Any] = {"name": "w", "tasks": [{"name": "a", "python": {"function": "jobs:run"}}]}
    if field == "function":
        document["tasks"][0]["python"]["function"] = value
        where: tuple[str | int, ...] = ("tasks", 0, "python", "function")
    else:
        document["schedule"] = value
        where = ("schedule",)
    assert jsonschema_rs.validator_for(schema()).is_valid(document)  # what is_valid must not trust
    assert not is_valid(document)
    assert [issue.path for issue in schema_issues(document)] == [where]


def test_a_caller_that_knows_the_text_is_clean_skips_the_scan() -> None:
    # engines_agree is the loader's word that none of those characters is in the document: the
    # quick check then trusts jsonschema-rs alone, so the loader must only say it when it is so.
    document = {"name": "w", "tasks": [{"name": "a", "python": {"function": "jobs:run\x1c"}}]}
    assert not is_valid(document)
    assert is_valid(document, engines_agree=True)


def test_documents_jsonschema_rs_cannot_take_go_to_jsonschema() -> None:
    # YAML reads a date and a !!set; jsonschema-rs accepts neither as input.
    assert not is_valid({"name": "w", "tasks": [{"name": "a", "batch": {"image": "x"}, "description": {1, 2}}]})
    assert not is_valid({1: "w"})
    assert is_valid(VALID)


@pytest.mark.parametrize("name", sorted(p.name for p in BAD_SPECS.glob("*.yaml")))
def test_bad_specs_agree(name: str) -> None:
    """On the bad-spec corpus the quick check says valid exactly when jsonschema finds nothing
    (semantic problems aside, the corpus has no document the quick check cannot decide)."""
    if name.startswith("hostile_"):
        pytest.skip("refused by the loader's bounds before validating (tests/test_spec_bad.py)")
    try:
        document = yaml.safe_load((BAD_SPECS / name).read_text())
    except (yaml.YAMLError, UnicodeDecodeError):
        pytest.skip("not YAML")
    if not _expanded_size_at_most(document, 100_000):
        pytest.skip("an alias bomb: the loader refuses it before validating")
    errors = list(jsonschema.Draft202012Validator(schema()).iter_errors(document))
    assert is_valid(document) == (not errors)
