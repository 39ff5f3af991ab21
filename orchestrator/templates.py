"""Templates in Batch commands and environment values: which run this is, compiled into the ASL.

A value may hold ``{{ name }}`` references; everything else is kept as written::

    report --day {{ date - 1 }} --run {{ execution_name }} --region {{ input.region }}

=====================  ==========================================================================
``scheduled_time``     the run's scheduled time, ISO-8601 UTC (``2026-03-29T00:10:00Z``)
``date``               its date in the workflow's time zone (``2026-03-29``)
``date - N``           N days earlier in that zone (``date + N``: later); N is 1..3660
``hour``               its hour in that zone, two digits (``02``)
``execution_name``     the execution's name
``input.a.b``          a field of the execution input (names of letters, digits and ``_``)
=====================  ==========================================================================

``{{`` always opens a reference. The workflow's time zone is its schedule's (UTC without one).

Compiled, not interpreted: a value becomes a ``States.Format`` intrinsic in the Batch Task state,
so Step Functions on AWS and the embedded engine build the same string. Local dates need a time
zone conversion, which intrinsics cannot do and JSONata can only do with a fixed ``±HHMM``
offset; so the main machine (and each child machine) starts with one JSONata Pass, "Logical
time", that finds the UTC offset in force at the scheduled time in a table of the zone's offset
changes, computed here from the tz database, and assigns the local dates and hour the workflow
uses to the variable ``$logical_time``. The table covers 2000-2099 (:data:`TABLE_YEARS`): exact
there for the tz database the compile ran with, including every DST change; before 2000 the
offset of 2000-01-01 holds, after 2099 the last one. A zone whose rules change after the compile
needs a recompile (as any tz-database user does).

    >>> parse("run-{{ date - 1 }}.csv")
    ('run-', Ref(name='date', days=-1, field=(), column=5), '.csv')
    >>> intrinsic(parse("run-{{ date - 1 }}.csv"))
    "States.Format('run-{}.csv', $logical_time.date_minus_1)"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from orchestrator import model
from orchestrator.errors import OrchestratorError, closest

OPEN, CLOSE = "{{", "}}"
VARIABLE = "logical_time"  # the workflow variable "Logical time" assigns
STATE = "Logical time"  # the JSONata Pass that assigns it
NAMES = ("scheduled_time", "date", "hour", "execution_name", "input")
MAX_DAYS = 3660  # ten years either way: a bound, so a typo cannot ask for year 30000
TABLE_YEARS = (2000, 2100)  # offset changes listed from the first year up to (not including) the second
DATE_PICTURE = "[Y0001]-[M01]-[D01]"
HOUR_PICTURE = "[H01]"
_REF = re.compile(r"\s*(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\s*(?:(?P<sign>[-+])\s*(?P<days>\S+?))?\s*")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DAYS = re.compile(r"[0-9]+")
_EXAMPLE = "{{ date - 1 }}"


class TemplateError(OrchestratorError):
    """A template that cannot be compiled; ``column`` is 1-based in the value."""

    def __init__(self, message: str, fix: str, column: int, replacement: str | None = None) -> None:
        super().__init__(message)
        self.message, self.fix, self.column = message, fix, column
        self.replacement = replacement  # the reference as it was probably meant, when known


@dataclass(frozen=True, slots=True)
class Ref:
    """One ``{{ ... }}``: ``name`` from :data:`NAMES`, ``days`` the date offset, ``field`` the input path."""

    name: str
    days: int = 0
    field: tuple[str, ...] = ()
    column: int = 1

    @property
    def key(self) -> str | None:
        """The key of ``$logical_time`` this reference reads, for local-time names; else None.

        >>> Ref("date", days=-2).key, Ref("date", days=3).key, Ref("hour").key, Ref("execution_name").key
        ('date_minus_2', 'date_plus_3', 'hour', None)
        """
        if self.name == "hour":
            return "hour"
        if self.name != "date":
            return None
        if self.days == 0:
            return "date"
        return f"date_{'minus' if self.days < 0 else 'plus'}_{abs(self.days)}"


Part = str | Ref


def has_template(text: str) -> bool:
    return OPEN in text


def parse(text: str) -> tuple[Part, ...]:
    """Literal text and references, in order; raises :class:`TemplateError` on the first problem.

    >>> parse("{{ hour }}h")
    (Ref(name='hour', days=0, field=(), column=1), 'h')
    """
    parts: list[Part] = []
    at = 0
    while True:
        start = text.find(OPEN, at)
        if start < 0:
            if at < len(text):
                parts.append(text[at:])
            return tuple(parts)
        if start > at:
            parts.append(text[at:start])
        end = text.find(CLOSE, start + len(OPEN))
        if end < 0:
            raise TemplateError(f"'{{{{' at character {start + 1} is not closed by '}}}}'",
                                f"close it: {text + ' }}'!r}", start + 1)
        try:
            parts.append(_ref(text[start + len(OPEN):end], start + 1))
        except TemplateError as error:
            if error.replacement is not None:
                error.fix = f"{text[:start] + error.replacement + text[end + len(CLOSE):]!r}"
            raise
        at = end + len(CLOSE)


def _ref(inner: str, column: int) -> Ref:
    written = "{{" + inner + "}}"
    match = _REF.fullmatch(inner)
    if match is None or not inner.strip():
        raise TemplateError(f"{written} names no value", f"one of {_names()}, e.g. {_EXAMPLE}", column)
    name, sign, days_text = match["name"], match["sign"], match["days"]
    head, _, rest = name.partition(".")
    if head not in NAMES or (head != "input" and rest):
        close = closest(head, NAMES)
        raise TemplateError(f"{written}: unknown value {name!r}; the values are {_names()}",
                            f"one of them, e.g. {_EXAMPLE}", column,
                            replacement=None if close is None or close == "input"
                            else "{{" + inner.replace(name, close, 1) + "}}")
    if head == "input":
        fields = tuple(rest.split(".")) if rest else ()
        if not fields or not all(_FIELD.fullmatch(f) for f in fields):
            raise TemplateError(f"{written}: name an input field, of letters, digits and '_'",
                                "e.g. {{ input.region }} for the input's \"region\"", column)
        if sign:
            raise TemplateError(f"{written}: only a date takes a day offset", "e.g. {{ date - 1 }}", column)
        return Ref("input", field=fields, column=column)
    if sign is None:
        return Ref(head, column=column)
    if head != "date":
        raise TemplateError(f"{written}: only a date takes a day offset", "e.g. {{ date - 1 }}", column)
    if days_text is None or not _DAYS.fullmatch(days_text) or not 1 <= int(days_text) <= MAX_DAYS:
        raise TemplateError(f"{written}: the day offset must be a whole number of days from 1 to {MAX_DAYS}",
                            "e.g. {{ date - 1 }} for the day before", column)
    days = int(days_text)
    return Ref("date", days=-days if sign == "-" else days, column=column)


def _names() -> str:
    return ", ".join(NAMES[:-1]) + ", input.FIELD"


# -- compiling to ASL -------------------------------------------------------------------------------


def _literal(text: str) -> str:
    """An intrinsic string literal: ``'``, ``{``, ``}`` and ``\\`` escaped with a backslash."""
    return "'" + re.sub(r"([\\'{}])", r"\\\1", text) + "'"


def _path(ref: Ref) -> str:
    if ref.name == "scheduled_time":
        return "$.input.scheduled_time"
    if ref.name == "execution_name":
        return "$$.Execution.Name"
    if ref.name == "input":
        return "$.input." + ".".join(ref.field)
    return f"${VARIABLE}.{ref.key}"


def intrinsic(parts: Sequence[Part]) -> str:
    """The intrinsic (for a ``.$`` field) that builds the value; ``States.Format`` always, so an
    input field that is a number becomes text, as Batch wants every override to be.

    >>> intrinsic(parse("{{ execution_name }}"))
    "States.Format('{}', $$.Execution.Name)"
    """
    text = "".join(_literal(p)[1:-1] if isinstance(p, str) else "{}" for p in parts)
    args = "".join(", " + _path(p) for p in parts if isinstance(p, Ref))
    return f"States.Format('{text}'{args})"


def command_intrinsic(items: Sequence[str]) -> str:
    """``States.Array`` of a command's items, the templated ones formatted, the rest as written.

    >>> command_intrinsic(["report", "--day={{ date }}"])
    "States.Array('report', States.Format('--day={}', $logical_time.date))"
    """
    rendered = [intrinsic(parse(i)) if has_template(i) else _literal(i) for i in items]
    return f"States.Array({', '.join(rendered)})"


def batch_values(wf: model.Workflow) -> Iterable[str]:
    """Every value templates may appear in: commands and environment values of Batch-run tasks."""
    for task in wf.tasks:
        job = task.job
        if task.runs_on != "batch" or isinstance(job, model.LambdaTask):
            continue
        if isinstance(job, model.BatchJob):
            yield from job.command
        yield from job.environment.values()


def zone(wf: model.Workflow) -> str:
    """The workflow's time zone: its schedule's, else UTC."""
    return wf.schedule.timezone if wf.schedule is not None else "UTC"


def local_keys(values: Iterable[str]) -> tuple[Ref, ...]:
    """One reference per ``$logical_time`` key the templated ``values`` read, sorted by key."""
    refs: dict[str, Ref] = {}
    for value in values:
        if has_template(value):
            for part in parse(value):
                if isinstance(part, Ref) and part.key is not None:
                    refs.setdefault(part.key, part)
    return tuple(refs[k] for k in sorted(refs))


@lru_cache(maxsize=64)
def offset_changes(zone: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(UTC seconds of each offset change in :data:`TABLE_YEARS`, offsets in seconds): the first
    offset holds before the first change, offset i+1 from change i on.

    >>> offset_changes("UTC")
    ((), (0,))
    >>> changes, offsets = offset_changes("Europe/Berlin")
    >>> datetime.fromtimestamp(changes[0], UTC).isoformat(), offsets[:3]
    ('2000-03-26T01:00:00+00:00', (3600, 7200, 3600))
    """
    from zoneinfo import ZoneInfo  # only a compile with templates needs the tz database

    tz = ZoneInfo(zone)
    start = datetime(TABLE_YEARS[0], 1, 1, tzinfo=UTC)
    end = datetime(TABLE_YEARS[1], 1, 1, tzinfo=UTC)

    def offset(when: datetime) -> int:
        delta = when.astimezone(tz).utcoffset()
        return 0 if delta is None else int(delta.total_seconds())

    changes: list[int] = []
    offsets = [offset(start)]
    day = timedelta(days=1)
    when = start
    # Offsets change at most a few times a year and never twice within a day, so a daily walk
    # finds each change and a bisection pins it to the second.
    while when < end:
        following = when + day
        if offset(following) != offsets[-1]:
            lo, hi = int(when.timestamp()), int(following.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(datetime.fromtimestamp(mid, UTC)) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            changes.append(hi)
            offsets.append(offset(following))
        when = following
    return tuple(changes), tuple(offsets)


def logical_time_expression(zone: str, refs: Sequence[Ref]) -> str:
    """The JSONata (``{% %}``) that "Logical time" assigns to ``$logical_time``: the keys ``refs``
    read, from ``$states.input.input.scheduled_time`` in ``zone``.

    >>> logical_time_expression("UTC", [Ref("hour")])
    "{% ($l := $toMillis($states.input.input.scheduled_time); {'hour': $fromMillis($l, '[H01]')}) %}"
    """
    changes, offsets = offset_changes(zone)
    if not changes:
        shift = f" + {offsets[0] * 1000}" if offsets[0] else ""
        local = f"$l := $toMillis($states.input.input.scheduled_time){shift}"
    else:
        # The offset in force: offsets[number of changes at or before the instant]. The count is
        # bound first: a predicate is evaluated once per item, so inline it would count 201 times.
        local = ("$t := $toMillis($states.input.input.scheduled_time); "
                 f"$c := $count([{','.join(map(str, changes))}][$ <= $t / 1000]); "
                 f"$l := $t + [{','.join(map(str, offsets))}][$c] * 1000")
    fields = []
    for ref in refs:
        picture = HOUR_PICTURE if ref.name == "hour" else DATE_PICTURE
        shifted = "$l" if not ref.days else f"$l {'-' if ref.days < 0 else '+'} {abs(ref.days) * 86_400_000}"
        fields.append(f"'{ref.key}': $fromMillis({shifted}, '{picture}')")
    return "{% (" + local + "; {" + ", ".join(fields) + "}) %}"
