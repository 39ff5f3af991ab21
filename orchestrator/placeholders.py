"""Deploy-time ``${Placeholder}`` values: the pattern, the names, and the one ``substitute()``.

The compiler writes them (contract 2 of DESIGN.md), and the boto3 deploy, the CDK machines and
the local runs replace them, with CDK's ``definitionSubstitutions`` semantics: a placeholder is
replaced where it occurs in a *value* (anywhere inside a string), never in an object key, and one
without a value is left as it is.

    >>> placeholder(JOB_QUEUE, "default")
    '${JobQueue_default}'
    >>> substitute({"JobQueue": "${JobQueue_default}", "${JobQueue_default}": 1}, {"JobQueue_default": "q"})
    {'JobQueue': 'q', '${JobQueue_default}': 1}
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from typing import Any

# ``${name}``; the group is the placeholder's key (what a substitutions mapping is keyed by).
PATTERN = re.compile(r"\$\{([^}]+)\}")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

# The kinds of placeholder the compiler writes; ``<kind>_<name>`` unless said otherwise.
JOB_QUEUE = "JobQueue"  # a Batch job queue, by queue name
JOB_DEFINITION = "JobDefinition"  # the Batch job definition of a task, by task name
FUNCTION = "Function"  # the Lambda function of a task, by task name
STATE_MACHINE = "StateMachine"  # a child state machine, by its name (= its file name)
ALERT_TOPIC = "AlertTopicArn"  # the SNS topic for failure alerts; no name part
JOB_LOG_GROUP = "JobLogGroup"  # the CloudWatch Logs group of the workflow's Batch jobs; no name part

Values = Mapping[str, str] | Callable[[str], str | None]


def safe_name(name: str) -> str:
    """``name`` as a placeholder carries it: letters, digits, ``_`` and ``-`` stay (task names
    already are); anything else becomes ``_`` plus a short hash, so two different names never
    share a placeholder.

    >>> safe_name("load-orders"), safe_name("a b")
    ('load-orders', 'a_b_c8687a')
    """
    safe = _UNSAFE.sub("_", name)
    if safe != name:
        safe += "_" + hashlib.sha256(name.encode()).hexdigest()[:6]
    return safe


def placeholder(kind: str, name: str | None = None) -> str:
    """A deploy-time value ``${Kind_name}`` (or ``${Kind}`` without a name).

    >>> placeholder(ALERT_TOPIC)
    '${AlertTopicArn}'
    """
    return "${" + kind + "}" if name is None else "${" + kind + "_" + safe_name(name) + "}"


def key_of(text: str) -> str:
    """``${X}`` and ``X`` both name placeholder ``X`` (a substitutions file may use either).

    >>> key_of("${Function_a}"), key_of("Function_a")
    ('Function_a', 'Function_a')
    """
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def placeholders_in(text: str) -> list[str]:
    """Every distinct ``${...}`` of a text, in order of first use.

    >>> placeholders_in('{"a": "${X}", "b": "${Y}-${X}"}')
    ['${X}', '${Y}']
    """
    return list(dict.fromkeys(match.group(0) for match in PATTERN.finditer(text)))


def child_of(text: str) -> str | None:
    """The child state machine a ``${StateMachine_<child>}`` names (its key works too), else None.

    >>> child_of("${StateMachine_wf-part-1}"), child_of("${JobQueue_default}")
    ('wf-part-1', None)
    """
    kind, _, name = key_of(text).partition("_")
    return name if kind == STATE_MACHINE and name else None


def substitute(value: Any, values: Values) -> Any:
    """``value`` (parsed JSON) with every ``${key}`` inside its strings replaced when ``values``
    has ``key`` (a mapping, or a function returning None for "no value"); others stay as they
    are, and object keys are never touched, as CDK ``definitionSubstitutions`` does. Walking the
    parsed definition rather than its text keeps a value with quotes or backslashes from
    breaking the JSON.

    >>> substitute(["${A}-x", "${B}", 3], lambda key: "a" if key == "A" else None)
    ['a-x', '${B}', 3]
    """
    lookup = values.get if isinstance(values, Mapping) else values

    def fill(match: re.Match[str]) -> str:
        found = lookup(match.group(1))
        return match.group(0) if found is None else found

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return PATTERN.sub(fill, node) if "${" in node else node
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(value)
