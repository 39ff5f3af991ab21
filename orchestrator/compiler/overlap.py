"""The overlap guard: a scheduled machine's first states, enforcing ``Schedule.overlap`` itself.

EventBridge Scheduler starts a run at every fire whether or not the last one is still going, so
a schedule whose ``overlap`` is ``skip`` or ``queue`` gets, before anything else:

``Check overlap``
    ``aws-sdk:sfn:listExecutions`` of this very machine (``$$.StateMachine.Id``) with
    ``StatusFilter: RUNNING``. The result keeps the count and the oldest running execution:
    ListExecutions lists newest first, so that is the last item of the page.
``Another run first?``
    Go on when nothing else runs, or when the oldest running execution is this one; otherwise
    ``skip`` goes to ``Skipped: a run is going`` (a Pass that ends the execution SUCCEEDED with a
    note as its output) and ``queue`` to ``Wait for the running one``, which asks again after
    :data:`POLL_SECONDS`. "Oldest first" rather than "anyone else": two runs started together
    would otherwise both skip, or both wait for each other forever.

Limits, honestly: the page holds at most 1,000 executions (``limits.LIST_PAGE_MAX``), so with more
running ones the oldest may not be seen; ListExecutions is eventually consistent, so two starts
within about a second can both go on; a queued run spends 9 history events per poll (~270 an
hour of waiting, of the 25,000). The machine's role needs ``states:ListExecutions`` on
itself (``orchestrator.cdk``). The embedded engine answers the same call from the local store.

    >>> start, states = guard_states("skip", next="Default scheduled time")
    >>> start, [s.name for s in states]
    ('Check overlap', ['Check overlap', 'Another run first?', 'Skipped: a run is going'])
"""

from __future__ import annotations

from orchestrator import arns, limits
from orchestrator.compiler import asl

CHECK = "Check overlap"
DECIDE = "Another run first?"
SKIPPED = "Skipped: a run is going"
WAIT = "Wait for the running one"
POLL_SECONDS = 120  # 9 history events a poll: ~270 an hour of waiting, of the 25,000 an execution has
ACTION = "listExecutions"
RESOURCE = arns.integration("aws-sdk:sfn", ACTION)
# Transient errors of the SDK call itself ("Sfn." + the exception, as AWS names SDK task errors).
RETRIER = asl.Retrier(errors=("Sfn.SfnException", "Sfn.SdkClientException"), interval=1, max_attempts=3,
                      backoff_rate=2, jitter_full=True)


def guarded(policy: str) -> bool:
    return policy in ("skip", "queue")


def guard_states(policy: str, *, next: str) -> tuple[str, list[asl.State]]:
    """(first state, states) of the guard for ``policy`` ("skip" or "queue"), going on to ``next``."""
    check = asl.Task(
        name=CHECK,
        resource=RESOURCE,
        parameters={"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING",
                    "MaxResults": limits.LIST_PAGE_MAX},
        result_selector={"running.$": "States.ArrayLength($.Executions)",
                         "oldest.$": "$.Executions[-1:].ExecutionArn"},
        # On the raw input: "Wrap input" rebuilds the state from $$.Execution.Input, so nothing of
        # this reaches a task.
        result_path="$.overlap",
        retry=(RETRIER,),
        next=DECIDE,
    )
    wait_or_skip = WAIT if policy == "queue" else SKIPPED
    decide = asl.Choice(
        name=DECIDE,
        query_language=asl.QueryLanguage.JSONATA,
        choices=(
            ("{% $states.input.overlap.running = 0 %}", next),
            # Only reached with running > 0, so oldest[0] exists.
            ("{% $states.input.overlap.oldest[0] != $states.context.Execution.Id %}", wait_or_skip),
        ),
        default=next,
    )
    if policy == "queue":
        return CHECK, [check, decide, asl.Wait(name=WAIT, seconds=POLL_SECONDS, next=CHECK)]
    skipped = asl.Pass(
        name=SKIPPED,
        parameters={"skipped": "another execution of this state machine was running (overlap: skip)",
                    "running.$": "$.overlap.oldest[0]", "execution_input.$": "$$.Execution.Input"},
    )
    return CHECK, [check, decide, skipped]
