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

import json
from collections.abc import Sequence
from typing import Any

from orchestrator import arns, model
from orchestrator.compiler import asl
from orchestrator.limits import SNS_SUBJECT_MAX
from orchestrator.placeholders import ALERT_TOPIC, placeholder
from orchestrator.spec.durations import format_duration

DESCRIBE = "Describe failure"
HAS_LOG = "Has a log stream"
READ_LOG = "Read log tail"
NOTIFY = "Notify failure"
FAILED = "Workflow failed"
BRANCH_ERROR_PATH = "$.branch_error"  # where Parallel and child-machine Catches put {Error, Cause}
MARKER_KEY = "orchestratorFailure"

LOG_TAIL_LINES = 20  # the failed attempt's last lines in the message
LOG_LINE_MAX = 300  # per line: 20 lines stay far under SNS's message limit with the rest
ATTRIBUTE_VALUE_MAX = 1024  # a message attribute is a routing field, not the log
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
_UNWRAP = (
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
)

# What a person needs from the raw Cause, read where it is: a Batch job's DescribeJobs JSON (exit
# code, status reason, the failed attempt's times, its log stream), Lambda's error JSON (errorType,
# errorMessage), a timeout (which limit, from the facts compiled in: `$facts`), else the Error and
# the Cause's first line. The raw Cause stays in the execution history, not in the message.
_REASON = (
    " $obj := function($s) { $type($s) = 'string' and $substring($s, 0, 1) = '{'"
    "   and $substring($s, $length($s) - 1) = '}' ? $parse($s) : {} };"
    " $dur := function($s) { $s >= 3600 and $s % 3600 = 0 ? $string($s / 3600) & 'h'"
    "   : ($s >= 60 and $s % 60 = 0 ? $string($s / 60) & 'm' : $string($round($s)) & 's') };"
    " $c := $obj($e.Cause);"
    " $info := $lookup($facts, $task);"
    " $batch := $exists($c.JobId) or $exists($c.Container);"
    " $a := $batch ? ($exists($c.Attempts) ? $c.Attempts[-1] : $c) : undefined;"
    " $sr := $string($c.StatusReason);"
    " $exit := $a.Container.ExitCode;"
    " $reclaimed := $batch and ($contains($sr, 'Host EC2') or $contains($sr, 'Spot'));"
    " $batchLimit := $c.Timeout.AttemptDurationSeconds;"
    " $line1 := $trim($split($string($e.Cause), '\\n')[0]);"
    " $error := $exists($e.Error) ? $e.Error : 'States.TaskFailed';"
    " $short := $error = 'States.Timeout'"
    "   ? 'timed out' & ($exists($info.t) ? ' after ' & $dur($info.t) : '')"
    "   : $batch ? ($reclaimed ? 'capacity reclaimed'"
    "       : $exists($exit) ? 'exit code ' & $string($exit)"
    "       : $sr = 'Job attempt duration exceeded timeout'"
    "         ? 'timed out' & ($exists($batchLimit) ? ' after ' & $dur($batchLimit) : '') : $sr)"
    "   : $exists($c.errorType) ? $c.errorType & ': ' & $string($c.errorMessage)"
    "   : $error & ($line1 and $line1 != $error ? ': ' & $line1 : '');"
    " $reason := $error = 'States.Timeout'"
    "   ? 'timed out: no result within the state timeout' & ($exists($info.t) ? ' (task timeout '"
    "       & $dur($info.t) & ')' : '')"
    "   : $batch ? ($reclaimed ? 'its capacity was reclaimed: ' & $sr"
    "       : $exists($exit) ? 'exit code ' & $string($exit) & ' (' & $sr"
    "           & ($a.Container.Reason ? '; ' & $a.Container.Reason : '') & ')'"
    "       : $sr = 'Job attempt duration exceeded timeout'"
    "         ? 'timed out: the Batch attempt limit' & ($exists($batchLimit) ? ' of ' & $dur($batchLimit) : '')"
    "           & ' was reached'"
    "         : $sr & ($a.Container.Reason ? ' (' & $a.Container.Reason & ')' : ''))"
    "   : $short;"
    " $m := $exists($info.a) ? $info.a : 1;"
    " $retried := $not($exists($info.e)) or $error in $info.e;"
    " $attempt := $m = 1 ? 'attempt 1 of 1' : ($retried ? 'attempt ' & $m & ' of ' & $m"
    "   : 'not retried: ' & $error & ' is not in its retry list');"
    " $ran := $exists($a.StartedAt) and $exists($a.StoppedAt) ? $dur(($a.StoppedAt - $a.StartedAt) / 1000) : undefined;"
    " $stream := $exists($a.Container.LogStreamName) ? $a.Container.LogStreamName"
    "   : $match($string($e.Cause), /\"logStreamName\"\\s*:\\s*\"([^\"]+)\"/i)[0].groups[0];"
)


def _describe(facts: dict[str, dict[str, Any]]) -> str:
    return _squash(
        "{% ("
        + _UNWRAP
        + " $f := $exists($states.input.failed) ? $states.input.failed : $unwrap($states.input.branch_error);"
        " $task := $keys($f)[0];"
        " $e := $lookup($f, $task);"
        " $facts := " + json.dumps(facts, separators=(",", ":"), sort_keys=True) + ";"
        + _REASON
        + " {"
        "   'execution': $states.context.Execution.Id,"
        "   'name': $states.context.Execution.Name,"
        "   'task': $task,"
        "   'kind': $batch ? 'Batch job' : ($exists($c.errorType) ? 'Lambda function' : undefined),"
        "   'error': $error,"
        "   'cause': $exists($e.Cause) ? $string($e.Cause) : '',"
        "   'short': $short,"
        "   'reason': $reason,"
        "   'attempt': $attempt,"
        "   'ran': $ran,"
        "   'log_stream': $stream"
        " }"
        ") %}"
    )


def _text(expression: str) -> str:
    """An SNS-safe one-line text: printable ASCII only."""
    return "$replace(" + expression + ", /[^ -~]/, '?')"


_HEADLINE = "$states.input.workflow & ' failed at ' & $f.task & ': ' & $f.short & ' (' & $f.attempt & ')'"

# SNS: a Subject is printable ASCII without line breaks, under 100 characters.
_SUBJECT = _squash(
    "{% ( $f := $states.input.failure; $substring(" + _text(_HEADLINE) + ", 0, " + str(SNS_SUBJECT_MAX) + ") ) %}"
)

_LINKS = (
    " $region := $split($f.execution, ':')[3];"
    " $console := 'https://' & $region & '.console.aws.amazon.com/';"
    " $cwEscape := function($s) { $replace($encodeUrlComponent($s), '%', '$25') };"
)


def _message(log_group: str | None) -> str:
    stream_link = (
        " $f.log_stream ? 'Log stream: ' & $f.log_stream & ' ' & $console & 'cloudwatch/home?region=' & $region"
        " & '#logsV2:log-groups/log-group/' & $cwEscape('" + log_group + "') & '/log-events/'"
        " & $cwEscape($f.log_stream) : undefined,"
        if log_group is not None
        else " $f.log_stream ? 'Log stream: ' & $f.log_stream : undefined,"
    )
    return _squash(
        "{% ("
        " $f := $states.input.failure;"
        + _LINKS
        + " $tail := $states.input.log_tail;"
        " $lines := [$tail ~> $map(function($l) { ' | ' & $substring($trim($l), 0, "
        + str(LOG_LINE_MAX) + ") })];"
        " $join(["
        + _HEADLINE
        + ","
        "   '',"
        "   'Workflow:   ' & $states.input.workflow,"
        "   'Execution:  ' & $f.name,"
        "   'Console:    ' & $console & 'states/home?region=' & $region & '#/v2/executions/details/' & $f.execution,"
        "   'Task:       ' & $f.task & ($f.kind ? ' (' & $f.kind & ')' : '') & ', ' & $f.attempt"
        "     & ($f.ran ? ', ran ' & $f.ran : ''),"
        "   'Reason:     ' & $f.reason,"
        "   $count($lines) > 0 ? 'Last log lines:' : undefined,"
        "   $lines,"
        + stream_link
        + "   'Redrive:    orchestrator redrive ' & $f.name & '   (on AWS: aws stepfunctions redrive-execution"
        " --execution-arn ' & $f.execution & ')'"
        " ], '\\n')"
        ") %}"
    )


# The same content for machines: SNS message attributes, so an alert can be routed to chat or a
# pager without parsing the text (String attributes must not be empty: missing ones are left out).
_ATTRIBUTES = _squash(
    "{% ( $f := $states.input.failure;"
    " $s := function($v) { $v ? {'DataType': 'String', 'StringValue': $substring($string($v), 0, "
    + str(ATTRIBUTE_VALUE_MAX) + ")} : undefined };"
    " {'event': $s('failure'), 'workflow': $s($states.input.workflow), 'execution': $s($f.execution),"
    "  'execution_name': $s($f.name), 'task': $s($f.task), 'error': $s($f.error), 'reason': $s($f.reason),"
    "  'attempt': $s($f.attempt), 'log_stream': $s($f.log_stream)} ) %}"
)


def task_facts(tasks: Sequence[model.Task], wf: model.Workflow) -> dict[str, dict[str, Any]]:
    """What the alert needs to know about a task that only the workflow says: its attempts (with
    the errors it retries, when not all), and its timeout. Tasks with one attempt and no timeout
    are left out, so a large machine carries little."""
    facts: dict[str, dict[str, Any]] = {}
    for task in tasks:
        entry: dict[str, Any] = {}
        retry = task.retry if task.retry is not None else wf.defaults.retry
        if retry is not None and retry.attempts > 0:
            entry["a"] = retry.attempts + 1  # MaxAttempts counts retries after the first try
            if "States.ALL" not in retry.errors:
                entry["e"] = list(retry.errors)
        timeout = task.timeout if task.timeout is not None else wf.defaults.timeout
        if timeout is not None:
            entry["t"] = timeout
        if entry:
            facts[task.name] = entry
    return facts


def failure_states(workflow: str, *, topic: str | None, child: bool,
                   facts: dict[str, dict[str, Any]] | None = None,
                   log_group: str | None = None) -> tuple[asl.State, ...]:
    """``Describe failure`` → (log tail →) ``Notify failure`` → ``Workflow failed``; enter at :data:`DESCRIBE`.

    ``topic=None`` (no notify configured) leaves out the SNS state, so no placeholder is needed.
    A child machine never alerts (its parent does, once) and fails with the marker Cause so the
    parent can still name the task. ``log_group`` (the workflow's Batch job log group, a
    deploy-time placeholder) adds the read of the failed attempt's last log lines, through the
    CloudWatch Logs SDK integration inside the machine; locally the same call reads the attempt's
    log file. A failed read (no permission, a stream gone) still alerts, without the lines.
    """
    describe = asl.Pass(
        name=DESCRIBE,
        comment="Name the failed task, a one-line reason, its attempt and log stream.",
        query_language=J,
        output={"workflow": workflow, "failure": _describe(facts or {})},
        next=(HAS_LOG if log_group is not None else NOTIFY) if topic is not None and not child else FAILED,
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
        arguments={"TopicArn": topic, "Subject": _SUBJECT, "Message": _message(log_group),
                   "MessageAttributes": _ATTRIBUTES},
        output="{% $states.input %}",
        retry=(asl.Retrier(errors=("States.ALL",), interval=2, max_attempts=3, backoff_rate=2),),
        # If the alert itself cannot be sent, still fail with the task's error, not SNS's.
        catch=(asl.Catcher(next=FAILED, output="{% $states.input %}"),),
        next=FAILED,
    )
    if log_group is None:
        return (describe, notify, fail)
    has_log = asl.Choice(
        name=HAS_LOG,
        comment="Only a Batch job's failure names a log stream to read.",
        query_language=J,
        choices=(("{% $exists($states.input.failure.log_stream) %}", READ_LOG),),
        default=NOTIFY,
    )
    read_log = asl.Task(
        name=READ_LOG,
        comment="The failed attempt's last log lines, for the alert.",
        query_language=J,
        resource=arns.integration("aws-sdk:cloudwatchlogs", "getLogEvents"),
        arguments={"LogGroupName": log_group, "LogStreamName": "{% $states.input.failure.log_stream %}",
                   "Limit": LOG_TAIL_LINES, "StartFromHead": False},
        output="{% $merge([$states.input, {'log_tail': [$states.result.Events.Message]}]) %}",
        catch=(asl.Catcher(next=NOTIFY, output="{% $states.input %}"),),
        next=NOTIFY,
    )
    return (describe, has_log, read_log, notify, fail)


_HAS_FAILED = "$exists($states.input.failed)"
# The two forms' Error and Cause, built once (every branch of a 1,000-way fan-out has one).
_BRANCH_FAIL = {
    False: (
        "{% ($states.input.failed.*.Error)[0] %}",
        "{% $string({'" + MARKER_KEY + "': $states.input.failed}) %}",
    ),
    True: (
        "{% " + _HAS_FAILED + " ? ($states.input.failed.*.Error)[0]"
        " : ($exists($states.input.branch_error.Error) ? $states.input.branch_error.Error"
        " : 'States.BranchFailed') %}",
        "{% " + _HAS_FAILED + " ? $string({'" + MARKER_KEY + "': $states.input.failed})"
        " : ($exists($states.input.branch_error.Cause) ? $states.input.branch_error.Cause : '') %}",
    ),
}


def branch_fail(name: str, *, nested: bool = True) -> asl.Fail:
    """The Fail state ending one Parallel branch: original Error, Cause marked with the task.

    ``nested=False`` (the branch holds only task states, so only ``$.failed`` can be set) renders
    the short form; every branch of a 1,000-way fan-out has one of these.
    """
    error, cause = _BRANCH_FAIL[nested]
    return asl.Fail(name=name, query_language=J, error=error, cause=cause)


# -- what else notifies: success and recovery (notify.on) -------------------------------------------

CHECK_PREVIOUS = "Check previous run"
RECOVERED = "Recovered?"
NOTIFY_SUCCESS = "Notify success"
SUCCEEDED = "Workflow succeeded"

# The Task states of the failure and success paths that call a service (read the log tail,
# notify, look at the previous run): states of the machine, not tasks of the workflow.
SERVICE_STATES = frozenset({READ_LOG, NOTIFY, CHECK_PREVIOUS, NOTIFY_SUCCESS})
# The statuses of a previous run that a success recovers from.
_NOT_SUCCEEDED = ("FAILED", "TIMED_OUT", "ABORTED")


def _success_headline(workflow: str, recovery: bool) -> str:
    name = json.dumps(workflow)  # a JSONata string literal
    if not recovery:
        return name + " & ' succeeded'"
    return (name + " & ($previous in " + json.dumps(list(_NOT_SUCCEEDED))
            + " ? ' recovered: succeeded after a run that ended ' & $previous : ' succeeded')")


def _success_message(workflow: str, recovery: bool) -> str:
    return _squash(
        "{% ("
        " $execution := $states.context.Execution.Id;"
        " $region := $split($execution, ':')[3];"
        " $join(["
        + _success_headline(workflow, recovery)
        + ","
        "   '',"
        "   'Workflow: ' & " + json.dumps(workflow) + ","
        "   'Execution: ' & $states.context.Execution.Name,"
        "   'Console: https://' & $region & '.console.aws.amazon.com/states/home?region=' & $region"
        "     & '#/v2/executions/details/' & $execution,"
        "   'Started: ' & $states.context.Execution.StartTime"
        " ], '\\n')"
        ") %}"
    )


def success_states(workflow: str, *, topic: str, on: Sequence[str]) -> tuple[str, tuple[asl.State, ...]]:
    """(entry, states) after the last task of a main machine, for ``notify.on`` success/recovery.

    ``recovery`` asks Step Functions for this machine's previous execution (``listExecutions``,
    newest first: the running one, then the one before) and alerts only when that one did not
    succeed; ``success`` alerts every time (saying "recovered" when ``recovery`` is on too and it
    did). Every state passes its input on, so the machine's output is what the last task left.
    A failed check or publish never fails the run: it just does not alert.
    """
    recovery, success = "recovery" in on, "success" in on
    event = "{% $previous in " + json.dumps(list(_NOT_SUCCEEDED)) + " ? 'recovery' : 'success' %}" if recovery \
        else "success"
    done = asl.Succeed(name=SUCCEEDED, comment="The workflow's result, as the last task left it.")
    notify = asl.Task(
        name=NOTIFY_SUCCESS,
        comment="notify.on: " + ", ".join(o for o in on if o != "failure") + ".",
        query_language=J,
        resource=arns.integration("sns", "publish"),
        arguments={
            "TopicArn": topic,
            "Subject": "{% $substring(" + _text(_success_headline(workflow, recovery)) + ", 0, "
                       + str(SNS_SUBJECT_MAX) + ") %}",
            "Message": _success_message(workflow, recovery),
            "MessageAttributes": {
                "event": {"DataType": "String", "StringValue": event},
                "workflow": {"DataType": "String", "StringValue": workflow},
                "execution": {"DataType": "String", "StringValue": "{% $states.context.Execution.Id %}"},
            },
        },
        output="{% $states.input %}",
        retry=(asl.Retrier(errors=("States.ALL",), interval=2, max_attempts=3, backoff_rate=2),),
        catch=(asl.Catcher(next=SUCCEEDED, output="{% $states.input %}"),),  # an unsent notice fails nothing
        next=SUCCEEDED,
    )
    if not recovery:
        return NOTIFY_SUCCESS, (notify, done)
    check = asl.Task(
        name=CHECK_PREVIOUS,
        comment="Did the run before this one succeed? (newest first: this run, then that one)",
        query_language=J,
        resource=arns.integration("aws-sdk:sfn", "listExecutions"),
        arguments={"StateMachineArn": "{% $states.context.StateMachine.Id %}", "MaxResults": 2},
        assign={"previous": "{% $count($states.result.Executions) > 1 ? $states.result.Executions[1].Status"
                            " : 'NONE' %}"},
        output="{% $states.input %}",
        catch=(asl.Catcher(next=SUCCEEDED, output="{% $states.input %}"),),
        next=NOTIFY_SUCCESS if success else RECOVERED,
    )
    if success:
        return CHECK_PREVIOUS, (check, notify, done)
    recovered = asl.Choice(
        name=RECOVERED,
        query_language=J,
        choices=(("{% $previous in " + json.dumps(list(_NOT_SUCCEEDED)) + " %}", NOTIFY_SUCCESS),),
        default=SUCCEEDED,
    )
    return CHECK_PREVIOUS, (check, recovered, notify, done)


# -- what a Catch cannot see: TIMED_OUT and ABORTED executions ------------------------------------


def ended_alert(workflow: str, *, status: str, name: str, execution: str, region: str,
                timeout: int | None, reason: str | None = None) -> tuple[str, str]:
    """(subject, message) for an execution that ended TIMED_OUT or ABORTED, in the failure layout.

    On AWS an EventBridge rule sends it (``status`` is then an event field, so the reason covers
    both statuses); locally the runner sends it with the status it knows. Pure text: the CDK
    passes EventBridge input-transformer fields for ``status``, ``name`` and the rest.

        >>> ended_alert("w", status="ABORTED", name="r1", execution="arn:x", region="eu-west-1", timeout=None)[0]
        'w ended ABORTED: it was stopped (StopExecution)'
    """
    limit = f"the workflow's timeout of {format_duration(timeout)}" if timeout is not None else "its timeout"
    why = reason or {"TIMED_OUT": f"{limit} was reached", "ABORTED": "it was stopped (StopExecution)"}.get(
        status, f"TIMED_OUT: {limit} was reached; ABORTED: it was stopped (StopExecution)")
    headline = f"{workflow} ended {status}: {why}"
    message = "\n".join([
        headline,
        "",
        f"Workflow: {workflow}",
        f"Execution: {name}",
        f"Console: https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution}",
        f"Reason: the execution ended {status}: {why}",
        f"Redrive: orchestrator redrive {name} (on AWS: aws stepfunctions redrive-execution --execution-arn "
        f"{execution})",
    ])
    subject = "".join(c if " " <= c <= "~" else "?" for c in headline)[:SNS_SUBJECT_MAX]
    return subject, message
