"""The summary's task table: printed byte for byte as rich's Table prints it, fast path or not."""

from __future__ import annotations

import io

from hypothesis import event, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from orchestrator.local.task_table import Cell, TaskTable

SUMMARY_COLUMNS = ("task", "service", "status", "attempt", "duration")


class _AsciiFile(io.StringIO):
    """A file whose encoding cannot show box characters: rich draws the table in ASCII."""

    encoding = "ascii"


def _printed(renderable: TaskTable | object, options: dict[str, object]) -> str:
    file = _AsciiFile() if options.get("ascii") else io.StringIO()
    console = Console(file=file, **{k: v for k, v in options.items() if k != "ascii"})  # type: ignore[arg-type]
    console.print(renderable)
    return file.getvalue()


def _summary_table(rows: list[tuple[Cell, ...]], caption: str | None = None) -> TaskTable:
    table = TaskTable("tasks", SUMMARY_COLUMNS)
    for cells in rows:
        table.add_row(*cells)
    table.caption = caption
    return table


# What task names and durations are made of, and what rich treats specially: markup, emoji
# codes, wide and combining characters, tabs, newlines, escape sequences. Two tables in three
# drawn have only ordinary cells, which often need no rich Table to lay them out.
_ORDINARY = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_. ()"
_SPECIAL = ["[", "]", "[bold]", ":", ":smile:", "é", "中", "\u0301", "\t", "\n", "\x1b", "🙂", "\\", "  "]
ordinary_words = st.text(alphabet=_ORDINARY, max_size=12)
words = st.one_of(ordinary_words, st.lists(st.one_of(st.sampled_from(list(_ORDINARY)), st.sampled_from(_SPECIAL)),
                                           max_size=8).map("".join))
styles = st.sampled_from(["green", "red", "yellow", "", "dim", "bold red", "none", "not bold", "italic on blue"])


@st.composite
def texts(draw: st.DrawFn, special: bool = True) -> Text:
    text = Text(draw(words if special else ordinary_words), style=draw(styles))
    if special and draw(st.integers(0, 3)) == 0:  # a failed attempt's reason under its status
        text.append(f"\n{draw(words)}", style="dim")
    if special and draw(st.integers(0, 5)) == 0:
        text.justify = "right"
    return text


@st.composite
def tables(draw: st.DrawFn) -> TaskTable:
    special = draw(st.integers(0, 2)) == 0
    word = words if special else ordinary_words
    cell = st.one_of(word, texts(special))
    columns: tuple[str, ...] = SUMMARY_COLUMNS
    if draw(st.booleans()):
        # An empty header is left to rich (it styles its padding as one piece).
        columns = tuple(draw(st.lists(word.filter(bool) if draw(st.booleans()) else word, min_size=1, max_size=6)))
    table = TaskTable(draw(st.sampled_from(["tasks", "a title longer than some of the tables drawn"])), columns)
    for _ in range(draw(st.integers(0, 8))):
        table.add_row(*(draw(cell) for _ in columns))
    table.caption = draw(st.one_of(st.none(), word))
    return table


@st.composite
def consoles(draw: st.DrawFn, table: TaskTable) -> dict[str, object]:
    """A console for ``table``: often about as wide as the table (fitting exactly, or one short)."""
    natural = table.widths(10**6)
    width = st.integers(1, 160)
    if natural is not None:
        needed = sum(natural) + len(natural) + 1
        width = st.one_of(width, st.integers(max(1, needed - 2), needed + 2), st.integers(needed, needed + 60))
    options: dict[str, object] = {"width": draw(width), "ascii": draw(st.booleans())}
    color_system = draw(st.sampled_from([None, "standard", "256", "truecolor", "windows"]))
    options.update(color_system=color_system, force_terminal=color_system is not None,
                   no_color=draw(st.booleans()), legacy_windows=draw(st.booleans()),
                   record=draw(st.booleans()))
    return options


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_prints_what_rich_table_prints(data: st.DataObject) -> None:
    table = data.draw(tables())
    options = data.draw(consoles(table))
    width = int(options["width"])  # type: ignore[call-overload]
    event("laid out here" if table.widths(width) is not None else "laid out by rich")
    assert _printed(table, options) == _printed(table.rich_table(), options)


@st.composite
def summary_statuses(draw: st.DrawFn) -> Text:
    """A status cell: one word in its color, now and then a failed attempt's reason and log tail."""
    text = Text(draw(st.sampled_from(["SUCCEEDED", "FAILED", "TIMED_OUT", "RUNNING"])), style=draw(styles))
    if draw(st.integers(0, 40)) == 0:
        text.append(f"\n{draw(ordinary_words)}\n| {draw(ordinary_words)}", style="dim")
    return text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(ordinary_words, st.sampled_from(["batch", "lambda", "mock"]), summary_statuses(),
                          st.sampled_from(["1", "2", "1 (Batch: 3)"]), st.sampled_from(["", "0.01s", "12.50s"])),
                max_size=30),
       st.integers(30, 200), st.sampled_from([None, "truecolor"]))
def test_summary_shaped_tables(rows: list[tuple[Cell, ...]], width: int, color_system: str | None) -> None:
    table = _summary_table(rows)
    options: dict[str, object] = {"width": width, "color_system": color_system,
                                  "force_terminal": color_system is not None}
    event("laid out here" if table.widths(width) is not None else "laid out by rich")
    assert _printed(table, options) == _printed(table.rich_table(), options)


def _ok(name: str = "extract") -> tuple[Cell, ...]:
    return (name, "batch", Text("SUCCEEDED", style="green"), "1", "0.01s")


def test_one_line_rows_that_fit_are_laid_out_here() -> None:
    table = _summary_table([_ok(), ("check", "lambda", Text("FAILED", style="red"), "2 (Batch: 3)", "")])
    assert table.widths(80) == [9, 9, 11, 14, 10]
    assert _printed(table, {"width": 80}) == (
        "tasks                                                      \n"
        "┏━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━┓\n"
        "┃ task    ┃ service ┃ status    ┃ attempt      ┃ duration ┃\n"
        "┡━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━┩\n"
        "│ extract │ batch   │ SUCCEEDED │ 1            │ 0.01s    │\n"
        "│ check   │ lambda  │ FAILED    │ 2 (Batch: 3) │          │\n"
        "└─────────┴─────────┴───────────┴──────────────┴──────────┘\n")
    # No rows: the header alone, as rich draws it.
    assert _summary_table([]).widths(80) == [6, 9, 8, 9, 10]


def test_what_rich_must_lay_out_is_left_to_it() -> None:
    failed = Text("FAILED", style="red")
    failed.append("\nexit code 3", style="dim")
    assert _summary_table([_ok(), ("load", "batch", failed, "1", "0.02s")]).widths(80) is None
    assert _summary_table([_ok("[bold]x")]).widths(80) is None  # markup in a str cell
    assert _summary_table([_ok("a:smile:b")]).widths(80) is None  # an emoji code
    assert _summary_table([_ok("überprüfen")]).widths(80) is None  # not ASCII: rich measures it
    assert _summary_table([_ok("x" * 60)]).widths(80) is None  # wider than the console: rich wraps
    assert _summary_table([_ok("x" * 60)]).widths(120) is not None


def test_doctests() -> None:
    import doctest

    from orchestrator.local import task_table

    result = doctest.testmod(task_table, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed
