"""Quotas: counting events, bytes and transitions; splitting big workflows into children."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from compiler_support import (
    CHILD_RESOURCE,
    assert_dependencies_hold,
    batch,
    child_of,
    iter_states,
    lam,
    run_in_engine,
    schema_errors,
    task_states,
)

from orchestrator import limits, model, placeholders
from orchestrator.compiler import CompileResult, child_name, compile_workflow, quotas
from orchestrator.errors import CompileError


def random_workflow(n: int, *, seed: int = 7, retry: model.Retry | None = None) -> model.Workflow:
    rnd = random.Random(seed)
    tasks = []
    for i in range(n):
        after = tuple(sorted({f"t{rnd.randrange(i)}" for _ in range(rnd.randint(0, 3))})) if i else ()
        make = batch if i % 3 else lam
        tasks.append(make(f"t{i}", after, timeout=600, retry=retry, expected_duration=rnd.uniform(1, 100)))
    return model.Workflow(name="big", tasks=tuple(tasks), notify=model.Notify(email=("ops@example.com",)))


def children_named_by(result: CompileResult, machine: str) -> list[str]:
    return [
        child_of(state)
        for _, state in iter_states(result.definitions[machine])
        if state["Type"] == "Task" and state["Resource"] == CHILD_RESOURCE
    ]


class TestCounting:
    def test_task_events(self) -> None:
        sync = {
            "Type": "Task",
            "Resource": "arn:aws:states:::batch:submitJob.sync",
            "Retry": [{"MaxAttempts": 3}],
        }
        # Entered, Scheduled, Started, Submitted, Succeeded, Exited + 3 retries x 4 events
        assert quotas.events_of_state(sync) == 6 + 3 * 4
        assert quotas.events_of_state({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}) == 5

    def test_report_for_a_small_workflow(self) -> None:
        wf = model.Workflow(name="w", tasks=(batch("a"), lam("b", ("a",)), lam("c", ("a",))))
        report = compile_workflow(wf).report
        (machine,) = report.machines
        # Default scheduled time, Wrap input, a, Parallel 1 (+ 2 branch Fails), b, c, Parallel 1
        # results, Describe failure, Workflow failed
        assert machine.states == 11
        assert machine.transitions == 7  # default time, wrap, a, Parallel, b, c, merge
        wrap, a, par, b, c = 2 + 2, 6 + 3 * 4, 4 + 2, 5 + 3 * 3, 5 + 3 * 3
        failure = 2 + 1 + 1  # Describe failure, Workflow failed, 1 task aborted in the other branch
        assert machine.events == quotas.EXECUTION_EVENTS + wrap + a + par + b + c + failure
        result = compile_workflow(wf)
        deployed = result.deployed["w"]
        assert json.loads(deployed) == result.definitions["w"] and "\n" not in deployed
        assert machine.bytes == len(deployed.encode()) < len(result.texts["w"].encode())
        assert machine.deployed_bytes == quotas.deployed_bytes(deployed)
        assert report.cost == pytest.approx(7 * 0.025 / 1000)
        assert "total" in str(report)


class TestSplitting:
    @pytest.fixture(scope="class")
    def split(self) -> tuple[model.Workflow, CompileResult]:
        wf = random_workflow(3000, retry=model.Retry(attempts=3))
        return wf, compile_workflow(wf)

    def test_3000_tasks_with_retries_split_into_children_within_limits(
        self, split: tuple[model.Workflow, CompileResult]
    ) -> None:
        wf, result = split
        assert result.main == "big" and len(result.definitions) > 2
        for report in result.report.machines:
            assert report.events <= limits.MAX_HISTORY_EVENTS, report
            assert report.deployed_bytes <= limits.MAX_DEFINITION_BYTES, report
            assert len(report.name) <= limits.STATE_MACHINE_NAME_MAX
        assert sorted(task_states(result)) == sorted(t.name for t in wf.tasks)
        assert_dependencies_hold(wf, result)

    def test_every_child_is_named_by_exactly_one_parent(
        self, split: tuple[model.Workflow, CompileResult]
    ) -> None:
        _, result = split
        named = [child for machine in result.definitions for child in children_named_by(result, machine)]
        assert sorted(named) == sorted(name for name in result.definitions if name != result.main)
        assert set(result.placeholders) >= {"${StateMachine_" + name + "}" for name in named}

    def test_children_are_valid_and_do_not_alert(self, split: tuple[model.Workflow, CompileResult]) -> None:
        _, result = split
        smallest_child = min(result.report.machines[1:], key=lambda m: m.bytes).name
        for name in (result.main, smallest_child):  # (schema checks of 1 MB files are slow)
            assert schema_errors(result.definitions[name]) == [], name
        for name, definition in result.definitions.items():
            has_sns = any(
                s["Resource"].endswith(":sns:publish")
                for _, s in iter_states(definition)
                if s["Type"] == "Task"
            )
            assert has_sns == (name == result.main)
            if name != result.main:  # the parent's execution timeout covers its children
                assert "TimeoutSeconds" not in definition

    def test_a_task_whose_retries_alone_pass_the_quota(self) -> None:
        wf = model.Workflow(name="w", tasks=(batch("greedy", retry=model.Retry(attempts=10_000)),))
        with pytest.raises(CompileError, match=r"^Task 'greedy' alone may need 40018 history events"):
            compile_workflow(wf)

    def test_child_names(self) -> None:
        assert child_name("nightly", 3) == "nightly-part-3"
        long = child_name("w" * 80, 12)
        assert len(long) <= 80 and long.endswith("-part-12")
        assert child_name("a.b", 1) != child_name("a_b", 1)


def small_limits(wf: model.Workflow) -> CompileResult:
    return compile_workflow(wf, max_history_events=400, max_definition_bytes=30_000)


def chain_with_fanout() -> model.Workflow:
    tasks: list[model.Task] = [batch("start")]
    for i in range(12):
        tasks.append(lam(f"fan-{i}", ("start",)))
    tasks.append(batch("join", tuple(f"fan-{i}" for i in range(12))))
    for i in range(8):
        tasks.append(lam(f"step-{i}", ("join",) if i == 0 else (f"step-{i - 1}",)))
    return model.Workflow(name="split", notify=model.Notify(), tasks=tuple(tasks))


class TestSplitRuns:
    def test_split_workflow_runs_and_hands_results_across_machines(self) -> None:
        wf = chain_with_fanout()
        result = small_limits(wf)
        assert len(result.definitions) > 1
        assert_dependencies_hold(wf, result)
        given = {"k": 1, "scheduled_time": "2024-05-01T00:00:00Z"}
        run, aws = run_in_engine(result, input=given)
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        assert run.output["input"] == given
        # Jobs in child machines see the workflow's scheduled time too (it travels in $.input).
        times = {name: next(e["Value"] for e in params["ContainerOverrides"]["Environment"]
                            if e["Name"] == "ORCHESTRATOR_SCHEDULED_TIME")
                 for name, params in aws.submitted.items()}
        assert set(times) == {t.name for t in wf.tasks if t.runs_on == "batch"}
        assert set(times.values()) == {"2024-05-01T00:00:00Z"}
        order = {name: i for i, name in enumerate(aws.started)}
        assert set(order) == {t.name for t in wf.tasks}
        for task in wf.tasks:
            assert all(order[dep] < order[task.name] for dep in task.after)
        # Every Lambda task got each upstream result, whichever machine produced it.
        by_name = {t.name: t for t in wf.tasks}
        for task in wf.tasks:
            if task.runs_on == "lambda":
                expected = {
                    dep: {"JobId": f"job-{dep}", "Status": "SUCCEEDED"}
                    if by_name[dep].runs_on == "batch"
                    else {"Payload": {"task": dep}}
                    for dep in task.after
                }
                assert aws.payloads[task.name].get("upstream", {}) == expected, task.name

    def test_children_take_and_return_only_results_that_are_read(self) -> None:
        result = small_limits(chain_with_fanout())
        for name, definition in result.definitions.items():
            if name == result.main:
                continue
            returned = definition["States"]["Return results"]["Parameters"]["results"]
            assert len(returned) <= 2, (name, returned)  # at most the results the next tasks read
        for machine in result.definitions.values():
            for _, state in iter_states(machine):
                if state["Type"] == "Task" and state["Resource"] == CHILD_RESOURCE:
                    assert state["ResultPath"] == "$.branch_results"
                    assert len(state["Parameters"]["Input"]["results"]) <= 12

    def test_failure_in_a_child_alerts_once_from_the_parent(self) -> None:
        result = small_limits(chain_with_fanout())
        run, aws = run_in_engine(result, fail={"step-5": ("Custom.Error", "disk full")})
        assert (run.status, run.error) == ("FAILED", "Custom.Error")
        assert len(aws.published) == 1
        message: Any = aws.published[0]["Message"]
        # The task inside the child that failed, not the child machine's Task state.
        assert aws.published[0]["Subject"] == "split failed at step-5: Custom.Error: disk full (attempt 1 of 1)"
        assert "Reason: Custom.Error: disk full" in message


def test_limits_too_small_to_split_are_reported() -> None:
    wf = model.Workflow(name="w", tasks=(batch("a"), batch("b")))
    with pytest.raises(CompileError, match=r"^Cannot split to fit 236 history events and 1808 bytes"):
        compile_workflow(wf, max_definition_bytes=10_000, max_history_events=300)


def test_parallels_nested_hundreds_deep_compile_and_split() -> None:
    """s0 -> (leaf0, s1 -> (leaf1, s2 -> ...)), joined back up: Parallels nest once per level."""
    import sys

    n = 300
    tasks = [lam("s0")]
    for i in range(n):
        tasks += [lam(f"leaf{i}", (f"s{i}",)), lam(f"s{i + 1}", (f"s{i}",))]
    tasks.append(lam(f"j{n}", (f"s{n}",)))
    tasks += [lam(f"j{i}", (f"leaf{i}", f"j{i + 1}")) for i in reversed(range(n))]
    wf = model.Workflow(name="deep", tasks=tuple(tasks))
    limit = sys.getrecursionlimit()
    result = compile_workflow(wf)
    assert sys.getrecursionlimit() == limit
    assert 1 < len(result.definitions) < 60
    assert all(m.bytes <= limits.MAX_DEFINITION_BYTES for m in result.report.machines)
    assert sorted(task_states(result)) == sorted(t.name for t in wf.tasks)


class TestDeployedBytes:
    def test_is_the_request_with_every_placeholder_at_its_longest(self) -> None:
        """Replace each placeholder with the longest ARN it can become and send the definition
        the way the SDKs do (a JSON string, non-ASCII escaped): no more than deployed_bytes."""
        wf = model.Workflow(
            name="w", notify=model.Notify(email=("ops@example.com",)), description="Nächtlich",
            tasks=(batch("a"), lam("b", ("a",)), lam("c", ("a",)), lam("d", ("c",))),
        )
        result = compile_workflow(wf, max_history_events=120)  # split: a child placeholder too
        assert len(result.definitions) > 1
        for name, text in result.deployed.items():
            kinds = {p[2:-1].split("_")[0] for p in result.placeholders if p in text}
            longest = text
            for p in result.placeholders:
                kind = p[2:-1].split("_")[0]
                longest = longest.replace(p, "a" * quotas.PLACEHOLDER_VALUE_MAX[kind])
            body = json.dumps({"definition": longest})
            assert len(body) - len('{"definition": ""}') == quotas.deployed_bytes(text), name
            assert kinds
        assert {"JobQueue", "JobDefinition", "Function", "StateMachine", "AlertTopicArn"} <= {
            p[2:-1].split("_")[0] for p in result.placeholders
        }

    def test_longest_values_follow_the_name_limits(self) -> None:
        arn = "arn:aws-us-gov:batch:us-isof-south-1:123456789012:job-definition/" + "n" * 128 + ":4294967295"
        assert len(arn) <= quotas.PLACEHOLDER_VALUE_MAX["JobDefinition"]
        assert quotas.deployed_bytes('"${User_thing}"') - quotas.deployed_bytes('""') == max(quotas.PLACEHOLDER_VALUE_MAX.values())

    def test_deployed_bytes_counts_what_json_escaping_and_the_longest_values_give(self) -> None:
        """The fast count (quotes and backslashes, placeholders by kind) equals escaping the text
        with json.dumps and replacing every placeholder, whatever the text holds."""
        pieces = ['a', '"', "\\", "\x7f", "\x01", "\x00", "\x1f", "\n", "\t", "é", "\u2028", "😀", "${", "}", "_", "JobQueue",
                  "Function", "StateMachine_x", "AlertTopicArn", "JobLogGroup", "User", "$", "{", " ", "~"]

        def longest(placeholder: str) -> int:  # a kind's values are its placeholders' and its "Kind_..." ones
            key = placeholders.key_of(placeholder)
            for kind, value_max in quotas.PLACEHOLDER_VALUE_MAX.items():
                if key == kind or key.startswith(kind + "_"):
                    return value_max
            return max(quotas.PLACEHOLDER_VALUE_MAX.values())

        rng = random.Random(16)
        for _ in range(20_000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
            expected = len(json.dumps(text)) - 2 + sum(
                longest(m.group(0)) - len(m.group(0)) for m in placeholders.PATTERN.finditer(text)
            )
            assert quotas.deployed_bytes(text) == expected, text
            assert quotas.deployed_bytes(text, placeholders.PATTERN.findall(text)) == expected, text

    def test_a_workflow_splits_only_when_the_deployed_text_would_not_fit(self) -> None:
        """500 Batch tasks side by side: 1.3 MB as indented for reading, but under 1 MB as
        deployed, so one machine (indented sizes used to split it in two)."""
        job = model.BatchJob(image="img:1", command=("run",))
        wf = model.Workflow(name="wide", tasks=tuple(model.Task(name=f"t{i}", job=job) for i in range(500)))
        result = compile_workflow(wf)
        assert list(result.definitions) == ["wide"]
        (machine,) = result.report.machines
        assert len(result.texts["wide"].encode()) > limits.MAX_DEFINITION_BYTES > machine.deployed_bytes
        assert machine.bytes == len(result.deployed["wide"].encode())
