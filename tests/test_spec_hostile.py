"""Hostile and careless input: bounded loading, and nothing but the project's own errors come out.

The exact texts live in ``tests/bad_specs/hostile_*`` (checked by test_spec_bad.py); here are the
bounds themselves, the CLI's cap on printed problems, and a fuzz test feeding mutated YAML and
JSON to ``validate_file``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import limits
from orchestrator.errors import OrchestratorError
from orchestrator.spec import validate_file

ROOT = Path(__file__).resolve().parents[1]
VALID_YAML = """\
name: nightly
schedule: {expression: "cron(10 2 * * ? *)", timezone: Europe/Berlin}
notify: {email: [ops@example.com], on: [failure]}
tasks:
  - name: load
    batch: {image: "jobs:1", command: [load, --days, "1"], vcpus: 1, memory: 2048, environment: {A: b}}
    timeout: 2h
    retries: {attempts: 3}
  - name: check
    lambda: {handler: "lambdas.checks:freshness"}
    after: [load]
"""
VALID_JSON = json.dumps({"name": "nightly", "tasks": [
    {"name": "load", "batch": {"image": "jobs:1", "command": ["load"], "memory": 2048}, "timeout": "2h"},
    {"name": "check", "lambda": {"handler": "lambdas.checks:freshness"}, "after": ["load"]}]})
# What hostile edits insert: anchors and aliases, brackets, special numbers, control characters.
TOKENS = ["&a ", "*a", "[", "]", "{", "}", ": ", "- ", ".inf", ".nan", "NaN", "Infinity", "1e999",
          "99999999999999999999999", "\x00", "\x07", "\\u0000", "\t", "\n  ", "'", '"', "!!python/object ",
          "<<: *a", "? ", "%YAML 1.1\n", "---\n", "\udcff", "1" + "0" * 400, "9" * 5000, "2001-13-45"]


def test_the_valid_documents_are_valid(tmp_path: Path) -> None:
    for name, text in (("ok.yaml", VALID_YAML), ("ok.json", VALID_JSON)):
        (tmp_path / name).write_text(text)
        assert validate_file(tmp_path / name) == []


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("orchestrator.spec.loader.SPEC_MAX_BYTES", 1024)
    spec = tmp_path / "big.yaml"
    spec.write_text(VALID_YAML + "# padding\n" * 200)
    (problem,) = validate_file(spec)
    assert problem.message == "is 0.0 MiB; a spec is at most 0 MiB (limits.SPEC_MAX_BYTES)"


def test_an_alias_bomb_is_bounded_in_time_and_memory(tmp_path: Path) -> None:
    lines = ["name: w", "tasks: []", "bomb:"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}" if i else "x"] * 10) + "]" for i in range(12)]
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines) + "\n")  # 10^12 values once expanded
    t0 = time.process_time()
    (problem,) = validate_file(spec)
    assert problem.message.startswith(f"expands to more than {limits.SPEC_MAX_NODES:,} values")
    assert time.process_time() - t0 < 60  # bounded by SPEC_MAX_NODES, not by the expansion


def test_the_cli_prints_the_first_problems_and_counts_the_rest(tmp_path: Path) -> None:
    tasks = [{"name": f"t{i}", "batch": {"image": "x", "memory": -1}} for i in range(limits.PROBLEMS_SHOWN_MAX + 20)]
    spec = tmp_path / "many.json"
    spec.write_text(json.dumps({"name": "w", "tasks": tasks}))
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "validate", str(spec)], capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    first, *rest = done.stderr.splitlines()
    total = int(first.split()[1])
    assert total > limits.PROBLEMS_SHOWN_MAX
    assert rest[-1] == (f"... and {total - limits.PROBLEMS_SHOWN_MAX} more (the first {limits.PROBLEMS_SHOWN_MAX} "
                        "are shown); fix these and validate again")


@st.composite
def mutated(draw: st.DrawFn, base: str) -> str:
    text = base
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        choice = draw(st.integers(0, 2))
        if choice == 0:
            text = text[:at] + draw(st.sampled_from(TOKENS)) * draw(st.integers(1, 80)) + text[at:]
        elif choice == 1:
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        else:
            text = text[:at] + draw(st.text(max_size=8)) + text[at:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_specs_give_only_the_projects_own_errors_in_bounded_time(tmp_path: Path, data: st.DataObject) -> None:
    suffix, base = data.draw(st.sampled_from([(".yaml", VALID_YAML), (".json", VALID_JSON)]))
    text = data.draw(mutated(base))
    spec = tmp_path / f"fuzz{suffix}"
    spec.write_bytes(text.encode("utf-8", "surrogateescape"))
    t0 = time.process_time()
    try:
        problems = validate_file(spec)
    except OrchestratorError:  # a load error of the project's own hierarchy is an answer too
        problems = []
    assert time.process_time() - t0 < 20
    for problem in problems:
        assert problem.render().strip()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=600), max_size=12),
       st.dictionaries(st.text(max_size=40), st.text(max_size=600), max_size=8))
def test_the_quick_overrides_bound_never_passes_what_the_exact_count_refuses(
    command: list[str], env: dict[str, str]
) -> None:
    """bounds skips encoding a job's overrides when string lengths alone show they fit: that must
    never let through overrides whose compact JSON is over limits.CONTAINER_OVERRIDES_MAX."""
    from orchestrator.spec import bounds

    exact = len(json.dumps({"command": command, "environment": [{"name": k, "value": v} for k, v in env.items()]},
                           separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if bounds._overrides_fit(command, env):
        assert exact <= limits.CONTAINER_OVERRIDES_MAX
