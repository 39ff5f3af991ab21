"""ASL builders: wiring errors are raised when the machine is built, naming the state."""

from __future__ import annotations

import pytest

from orchestrator.compiler import asl
from orchestrator.errors import CompileError


def task(name: str, next: str | None = None, **kw: object) -> asl.Task:
    return asl.Task(name=name, resource="arn:aws:states:::lambda:invoke", next=next, **kw)  # type: ignore[arg-type]


class TestGraphChecks:
    def test_unknown_next_names_the_state(self) -> None:
        with pytest.raises(CompileError, match=r"^State 'a' goes to 'nowhere', which is not in its scope\.$"):
            asl.Graph(start_at="a", states=(task("a", "nowhere"),))

    def test_unknown_next_of_an_unreachable_state_is_named_first(self) -> None:
        with pytest.raises(CompileError, match=r"^State 'b' goes to 'nowhere', which is not in its scope\.$"):
            asl.Graph(start_at="a", states=(task("a"), task("b", "nowhere")))

    def test_unknown_catch_target(self) -> None:
        catch = (asl.Catcher(next="handler"),)
        with pytest.raises(CompileError, match=r"^State 'a' goes to 'handler'"):
            asl.Graph(start_at="a", states=(task("a", catch=catch),))

    def test_unknown_start(self) -> None:
        with pytest.raises(CompileError, match=r"^StartAt 'b' is not a state of this scope\.$"):
            asl.Graph(start_at="b", states=(task("a"),))

    def test_unreachable_state(self) -> None:
        with pytest.raises(CompileError, match=r"^State 'orphan' is unreachable from 'a'\.$"):
            asl.Graph(start_at="a", states=(task("a"), task("orphan")))

    def test_duplicate_in_scope(self) -> None:
        with pytest.raises(CompileError, match=r"^State 'a' is defined twice in the same scope\.$"):
            asl.Graph(start_at="a", states=(task("a"), task("a")))

    def test_duplicate_across_branches(self) -> None:
        branch = asl.Graph(start_at="x", states=(task("x"),))
        par = asl.Parallel(name="p", branches=(branch, branch))
        with pytest.raises(CompileError, match=r"^State 'x' occurs more than once"):
            asl.StateMachine(graph=asl.Graph(start_at="p", states=(par,)))

    def test_name_too_long(self) -> None:
        with pytest.raises(CompileError, match=r"must be 1\.\.80 characters\. Received 81\.$"):
            asl.Graph(start_at="a" * 81, states=(task("a" * 81),))

    def test_fail_cannot_have_next(self) -> None:
        with pytest.raises(CompileError, match=r"^State 'f' is a Fail state and cannot have Next\.$"):
            asl.Graph(start_at="a", states=(task("a", "f"), asl.Fail(name="f", next="a")))


class TestRetriers:
    def test_states_all_must_be_alone(self) -> None:
        with pytest.raises(CompileError, match=r"States\.ALL must be alone in ErrorEquals"):
            asl.Retrier(errors=("States.ALL", "Foo"))

    def test_states_all_must_be_last(self) -> None:
        retry = (asl.Retrier(errors=("States.ALL",)), asl.Retrier(errors=("Foo",)))
        with pytest.raises(
            CompileError, match=r"^State 'a': a retrier with States\.ALL must be the last one\.$"
        ):
            task("a", retry=retry)

    def test_render_drops_defaults(self) -> None:
        rendered = asl.Retrier(errors=("E",), interval=2, max_attempts=4, backoff_rate=1.5).render()
        assert rendered == {"ErrorEquals": ["E"], "IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 1.5}
        assert asl.Retrier(errors=("E",), jitter_full=True, max_delay=9).render()["JitterStrategy"] == "FULL"


class TestRendering:
    def test_key_order_and_end(self) -> None:
        state = task("a", result_path="$.r", timeout_seconds=5, catch=(asl.Catcher(next="a"),)).render()
        assert list(state) == ["Type", "Resource", "ResultPath", "TimeoutSeconds", "Catch", "End"]

    def test_machine_top_level(self) -> None:
        machine = asl.StateMachine(
            graph=asl.Graph(start_at="a", states=(task("a"),)), comment="c", timeout_seconds=9
        )
        assert list(machine.render()) == ["Comment", "TimeoutSeconds", "StartAt", "States"]
