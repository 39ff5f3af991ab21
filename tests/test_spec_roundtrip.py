"""Property tests: generated valid specs validate, round-trip model -> spec -> model, and load the
same from YAML and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.spec import from_dict, load, to_dict
from orchestrator.spec.checks import FARGATE_SIZES

NAME = st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True)
DURATION = st.one_of(
    st.integers(1, 10**6),
    st.builds(lambda n, u: f"{n}{u}", st.integers(1, 500), st.sampled_from("smhd")),
    st.just("1h30m"),
)
BATCH_TIMEOUT = st.one_of(  # AWS Batch: at least 60 s
    st.integers(60, 10**6),
    st.builds(lambda n, u: f"{n}{u}", st.integers(1, 500), st.sampled_from("mhd")),
    st.just("1h30m"),
)
SHORT = st.one_of(st.integers(1, 900), st.sampled_from(["90s", "5m", "15m", "1m30s"]))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)
ENV = st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), TEXT, max_size=3)
PERMISSIONS = st.lists(
    st.fixed_dictionaries({"actions": st.lists(st.sampled_from(["s3:GetObject", "s3:PutObject", "sqs:*"]),
                                               min_size=1, max_size=2)},
                          optional={"resources": st.lists(st.sampled_from(["*", "arn:aws:s3:::b/*"]),
                                                          min_size=1, max_size=2)}),
    max_size=2,
)
RETRIES = st.one_of(
    st.integers(0, 10),
    st.fixed_dictionaries(
        {"attempts": st.integers(0, 10)},
        optional={
            "interval": st.integers(1, 60),
            "backoff_rate": st.floats(1.0, 5.0),
            "jitter": st.sampled_from(["FULL", "NONE"]),
            "errors": st.just(["States.Timeout", "Batch.AWSBatchException"]),
        },
    ),
)


@st.composite
def batch_job(draw: st.DrawFn) -> dict[str, Any]:
    vcpus = draw(st.sampled_from(sorted(FARGATE_SIZES)))
    job: dict[str, Any] = {
        "image": draw(st.sampled_from(["alpine:3", "python:3.12-slim", "postgres:16"])),
        "command": draw(st.lists(TEXT, max_size=3)),
        "vcpus": vcpus,
        "memory": draw(st.sampled_from(FARGATE_SIZES[vcpus])),
    }
    if draw(st.booleans()):
        job["environment"] = draw(ENV)
    if draw(st.booleans()):
        job["secrets"] = {"DB_PASSWORD": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-AbCdEf"}
    if draw(st.booleans()):
        job["array_size"] = draw(st.integers(2, 10_000))
    if draw(st.booleans()):
        job["permissions"] = draw(PERMISSIONS)
    return job


@st.composite
def task(draw: st.DrawFn, name: str, earlier: list[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if draw(st.booleans()):
        entry["description"] = draw(TEXT)
    kind = draw(st.sampled_from(["batch", "lambda", "python"]))
    if kind == "batch":
        entry["batch"] = draw(batch_job())
        if draw(st.booleans()):
            entry["timeout"] = draw(BATCH_TIMEOUT)
    elif kind == "lambda":
        entry["lambda"] = {"handler": draw(st.sampled_from(["lambdas.checks:freshness", "app:handler"]))}
        if draw(st.booleans()):
            entry["lambda"]["memory"] = draw(st.integers(128, 10_240))
        entry["timeout"] = draw(SHORT)
    else:
        entry["python"] = {"function": draw(st.sampled_from(["jobs.daily:run", "scripts/etl.py:main"]))}
        if draw(st.booleans()):
            entry["python"]["vcpus"] = 2
            entry["python"]["memory"] = 4096
            entry["timeout"] = "2h"
    if earlier and draw(st.booleans()):
        entry["after"] = draw(st.lists(st.sampled_from(earlier), unique=True, min_size=1, max_size=3))
    if draw(st.booleans()):
        entry["retries"] = draw(RETRIES)
    if draw(st.booleans()):
        entry["expected_duration"] = draw(st.one_of(DURATION, st.floats(0.0, 1e5)))
    return entry


@st.composite
def spec(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
    tasks = [draw(task(name, names[:i])) for i, name in enumerate(names)]
    doc: dict[str, Any] = {"name": draw(NAME), "tasks": tasks}
    if draw(st.booleans()):
        doc["description"] = draw(TEXT)
    if draw(st.booleans()):
        expression = draw(st.sampled_from(["cron(10 2 * * ? *)", "rate(5 minutes)", "cron(0 9 ? * MON-FRI *)",
                                           "rate(1 day)", "at(2026-05-01T09:00:00)", "cron(0 0 L * ? *)"]))
        doc["schedule"] = draw(st.one_of(st.just(expression), st.fixed_dictionaries(
            {"expression": st.just(expression)},
            optional={"timezone": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
                      "flexible_window": st.integers(1, 1440),
                      "overlap": st.sampled_from(["skip", "allow", "queue"]),
                      "catch_up": st.sampled_from(["none", "latest", "all"]),
                      "enabled": st.booleans()})))
    if draw(st.booleans()):
        doc["notify"] = draw(st.one_of(
            st.just(["ops@example.com"]),
            st.fixed_dictionaries({}, optional={
                "email": st.sampled_from(["ops@example.com", ["a@example.com", "b@example.org"]]),
                "topic_arn": st.just("arn:aws:sns:eu-central-1:123456789012:alerts"),
                "webhook": st.just("https://hooks.example.com/x"),
            }).filter(bool)))
    if draw(st.booleans()):
        doc["timeout"] = draw(DURATION)
    if draw(st.booleans()):
        doc["defaults"] = draw(st.fixed_dictionaries({}, optional={
            "retries": RETRIES, "image": st.just("python:3.12-slim")}))
    if draw(st.booleans()):
        doc["tags"] = draw(st.dictionaries(NAME, TEXT, max_size=3))
    return doc


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(spec())
def test_generated_specs_validate_and_round_trip(document: dict[str, Any]) -> None:
    workflow = from_dict(document)
    canonical = to_dict(workflow)
    assert from_dict(canonical) == workflow
    assert to_dict(from_dict(canonical)) == canonical


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(document=spec())
def test_yaml_and_json_give_the_same_model(document: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    (tmp_path / "w.json").write_text(json.dumps(document, indent=2))
    assert load(tmp_path / "w.yaml") == load(tmp_path / "w.json") == from_dict(document)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_spec(draw: st.DrawFn) -> Any:
    """A valid spec with one value somewhere replaced by arbitrary JSON (or a key deleted)."""
    document = draw(spec())
    node: Any = document
    for _ in range(draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            if not isinstance(node[key], (dict, list)) or draw(st.booleans()):
                if draw(st.booleans()):
                    del node[key]
                else:
                    node[key] = draw(JSON)
                return document
            node = node[key]
        elif isinstance(node, list) and node:
            index = draw(st.integers(0, len(node) - 1))
            if not isinstance(node[index], (dict, list)) or draw(st.booleans()):
                node[index] = draw(JSON)
                return document
            node = node[index]
    return document


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_spec(), JSON))
def test_any_document_gives_a_model_or_located_problems(document: Any) -> None:
    from orchestrator.errors import ValidationError

    try:
        workflow = from_dict(document)
    except ValidationError as error:
        assert error.problems
        assert all(p.where.startswith("<spec>") and p.message for p in error.problems)
        assert len({(p.where, p.message) for p in error.problems}) == len(error.problems)
    else:
        assert from_dict(to_dict(workflow)) == workflow


def test_catch_up_bounds_round_trip() -> None:
    doc = {"name": "w", "tasks": [{"name": "a", "batch": {"image": "alpine:3"}}],
           "schedule": {"expression": "cron(0 * * * ? *)", "catch_up": "all", "catch_up_limit": 24,
                        "starting_deadline": "6h"}}
    wf = from_dict(doc)
    assert wf.schedule is not None
    assert (wf.schedule.catch_up_limit, wf.schedule.starting_deadline) == (24, 21600)
    assert to_dict(wf)["schedule"] == {"expression": "cron(0 * * * ? *)", "catch_up": "all", "catch_up_limit": 24,
                                       "starting_deadline": 21600}
    assert from_dict(to_dict(wf)) == wf
