"""The one failure path: describe the failure, alert once over SNS, fail with the original error.

How a failure travels, and why it names the failed task:

* Every task state catches ``States.ALL`` into ``$.failed.<task>`` (``{Error, Cause}``), so the
  record carries the task's name as its key.
* A Catch inside a Parallel branch can only go to a state of that branch, so each branch ends in
  its own Fail state (:func:`branch_fail`) that re-raises the *original* Error with a Cause of
  ``{"orchestratorFailure": {<task>: {Error, Cause}}}``. The Parallel's one Catch
  (``$.branch_error``) then sends it to the shared path: one alert per failure, never one per
  branch. A failed child machine arrives the same way, its Cause being the child's
  DescribeExecution output whose own Cause holds the same marker.
* ``Describe failure`` (a JSONata Pass) unwraps all three shapes into ``{task, error, cause,
  log_stream, execution}``; ``Notify failure`` publishes it; ``Workflow failed`` fails the
  execution with the original Error and Cause.

JSONata is used for these states only (QueryLanguage is set per state): JSONPath cannot read a
key it does not know (the task name), parse a JSON Cause, or cut a string to SNS's sizes.

    >>> names = [s.name for s in failure_states("wf", topic="${AlertTopicArn}", child=False)]
    >>> names
    ['Describe failure', 'Notify failure', 'Workflow failed']
"""

from __future__ import annotations

from orchestrator import arns
from orchestrator.compiler import asl
from orchestrator.limits import SNS_SUBJECT_MAX
from orchestrator.placeholders import ALERT_TOPIC, placeholder

DESCRIBE = "Describe failure"
NOTIFY = "Notify failure"
FAILED = "Workflow failed"
BRANCH_ERROR_PATH = "$.branch_error"  # where Parallel and child-machine Catches put {Error, Cause}
MARKER_KEY = "orchestratorFailure"

CAUSE_IN_MESSAGE_MAX = 2000  # keep the e-mail readable; the full Cause stays in the history
# Under limits.FAIL_CAUSE_MAX (32,768), leaving room for the text around the copied cause.
FAIL_CAUSE_KEPT = 30_000

J = asl.QueryLanguage.JSONATA


def _squash(expression: str) -> str:
    """One line, single spaces: the expressions are written readably here, rendered compactly."""
    return " ".join(expression.split())


def alert_topic(topic_arn: str | None) -> str:
    """The topic a notify path publishes to: the user's ARN, else a deploy-time placeholder."""
    return topic_arn if topic_arn is not None else placeholder(ALERT_TOPIC)


# Unwraps the three failure shapes (see module docstring) into one record. `$unwrap` recurses
# through a child execution's DescribeExecution JSON (keys may be PascalCase or camelCase).
_DESCRIBE = _squash(
    "{% ("
    " $marker := '{\"" + MARKER_KEY + "\":';"
    " $unwrap := function($e) {("
    "   $c := $e.Cause;"
    "   $isText := $type($c) = 'string';"
    "   $isText and $substring($c, 0, $length($marker)) = $marker"
    "     ? $parse($c)." + MARKER_KEY + ""
    "     : ($isText and $substring($c, 0, 1) = '{' and $contains($c, '" + MARKER_KEY + "')"
    "         ? ($d := $parse($c);"
    "            $unwrap({'Error': $exists($d.Error) ? $d.Error : $d.error,"
    "                     'Cause': $exists($d.Cause) ? $d.Cause : $d.cause}))"
    "         : {'(unknown)': $e})"
    " )};"
    " $f := $exists($states.input.failed) ? $states.input.failed : $unwrap($states.input.branch_error);"
    " $task := $keys($f)[0];"
    " $e := $lookup($f, $task);"
    " {"
    "   'execution': $states.context.Execution.Id,"
    "   'task': $task,"
    "   'error': $exists($e.Error) ? $e.Error : 'States.TaskFailed',"
    "   'cause': $exists($e.Cause) ? $string($e.Cause) : '',"
    '   \'log_stream\': $match($string($e.Cause), /"logStreamName"\\s*:\\s*"([^"]+)"/i)[0].groups[0]'
    " }"
    ") %}"
)

# SNS: a Subject is printable ASCII without line breaks, under 100 characters.
_SUBJECT = (
    "{% $substring($replace('Failed: ' & $states.input.workflow & ' / ' & $states.input.failure.task,"
    " /[^ -~]/, '?'), 0, " + str(SNS_SUBJECT_MAX) + ") %}"
)

_MESSAGE = _squash(
    "{% ("
    " $f := $states.input.failure;"
    " $region := $split($f.execution, ':')[3];"
    " $join(["
    "   'Workflow: ' & $states.input.workflow,"
    "   'Execution: ' & $f.execution,"
    "   'Failed task: ' & $f.task,"
    "   'Error: ' & $f.error,"
    "   'Cause: ' & $substring($f.cause, 0, " + str(CAUSE_IN_MESSAGE_MAX) + "),"
    "   $f.log_stream ? 'Batch log stream: ' & $f.log_stream : 'Batch log stream: (none)',"
    "   'Console: https://console.aws.amazon.com/states/home?region=' & $region"
    "     & '#/v2/executions/details/' & $f.execution"
    " ], '\\n')"
    ") %}"
)


def failure_states(workflow: str, *, topic: str | None, child: bool) -> tuple[asl.State, ...]:
    """``Describe failure`` → (``Notify failure``) → ``Workflow failed``; enter at :data:`DESCRIBE`.

    ``topic=None`` (no notify configured) leaves out the SNS state, so no placeholder is needed.
    A child machine never alerts (its parent does, once) and fails with the marker Cause so the
    parent can still name the task.
    """
    describe = asl.Pass(
        name=DESCRIBE,
        comment="Name the failed task, its error and cause, and the Batch log stream when known.",
        query_language=J,
        output={"workflow": workflow, "failure": _DESCRIBE},
        next=NOTIFY if topic is not None and not child else FAILED,
    )
    if child:
        # Re-raise the original Error; wrap the Cause so the parent's alert names the task.
        cause = (
            "{% $string({'" + MARKER_KEY + "': {$states.input.failure.task: "
            "{'Error': $states.input.failure.error, "
            "'Cause': $substring($states.input.failure.cause, 0, " + str(FAIL_CAUSE_KEPT) + ")}}}) %}"
        )
    else:
        cause = "{% $states.input.failure.cause %}"
    fail = asl.Fail(
        name=FAILED,
        comment="Fail with the failed task's original error, so the execution is FAILED.",
        query_language=J,
        error="{% $states.input.failure.error %}",
        cause=cause,
    )
    if topic is None or child:
        return (describe, fail)
    notify = asl.Task(
        name=NOTIFY,
        comment="One alert per failed execution.",
        query_language=J,
        resource=arns.integration("sns", "publish"),
        arguments={"TopicArn": topic, "Subject": _SUBJECT, "Message": _MESSAGE},
        output="{% $states.input %}",
        retry=(asl.Retrier(errors=("States.ALL",), interval=2, max_attempts=3, backoff_rate=2),),
        # If the alert itself cannot be sent, still fail with the task's error, not SNS's.
        catch=(asl.Catcher(next=FAILED, output="{% $states.input %}"),),
        next=FAILED,
    )
    return (describe, notify, fail)


def branch_fail(name: str, *, nested: bool = True) -> asl.Fail:
    """The Fail state ending one Parallel branch: original Error, Cause marked with the task.

    ``nested=False`` (the branch holds only task states, so only ``$.failed`` can be set) renders
    the short form; every branch of a 1,000-way fan-out has one of these.
    """
    if not nested:
        return asl.Fail(
            name=name,
            query_language=J,
            error="{% ($states.input.failed.*.Error)[0] %}",
            cause="{% $string({'" + MARKER_KEY + "': $states.input.failed}) %}",
        )
    has_failed = "$exists($states.input.failed)"
    return asl.Fail(
        name=name,
        query_language=J,
        error=(
            "{% " + has_failed + " ? ($states.input.failed.*.Error)[0]"
            " : ($exists($states.input.branch_error.Error) ? $states.input.branch_error.Error"
            " : 'States.BranchFailed') %}"
        ),
        cause=(
            "{% " + has_failed + " ? $string({'" + MARKER_KEY + "': $states.input.failed})"
            " : ($exists($states.input.branch_error.Cause) ? $states.input.branch_error.Cause : '') %}"
        ),
    )
