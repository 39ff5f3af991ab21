"""The summary's table of tasks after a run, laid out without rich's per-cell machinery when it can.

rich lays out a ``Table`` cell by cell (a measurement, a ``Padding``, wrapping and justifying a
``Text``, cropping each line), ~0.25 ms a row on this machine whatever the options: 50-60 ms of
a 200-task run's summary, and it grows with the workflow (0.25 s at 1,000 tasks). Almost every
row of the summary is one line of short words that fits the width, where the layout is simple
arithmetic: each column as wide as its widest cell plus a space either side. ``TaskTable``
does that arithmetic itself and yields the segments rich's ``Table`` yields for it (styles,
box characters and all), and hands any other table to rich's ``Table`` unchanged: cells of
several lines (a failed task's reason and log tail), cells that need markup or emoji
handling, text that is not plain ASCII, and tables wider than the console (rich wraps them).
``tests/test_local_task_table.py`` checks, over random tables, widths and consoles, that both
print the same bytes.

    >>> from rich.console import Console
    >>> table = TaskTable("tasks", ("task", "status"))
    >>> table.add_row("extract", "SUCCEEDED")
    >>> Console(width=40).print(table)
    tasks
    ┏━━━━━━━━━┳━━━━━━━━━━━┓
    ┃ task    ┃ status    ┃
    ┡━━━━━━━━━╇━━━━━━━━━━━┩
    │ extract │ SUCCEEDED │
    └─────────┴───────────┘
"""

from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

Cell = str | Text

# rich's Table defaults, which the summary's table keeps.
_BOX = box.HEAVY_HEAD
_HEADER_STYLE = "table.header"
_TITLE_STYLE = "table.title"
_CAPTION_STYLE = "table.caption"


class TaskTable:
    """A titled table of one-line rows, printed as ``rich.table.Table(title=..., title_justify="left")``
    with these columns would print it."""

    def __init__(self, title: str, columns: tuple[str, ...]) -> None:
        self.title = title
        self.columns = columns
        self.rows: list[tuple[Cell, ...]] = []
        self.caption: str | None = None

    def add_row(self, *cells: Cell) -> None:
        self.rows.append(cells)

    def rich_table(self) -> Table:
        """The same table as rich's ``Table``: what is printed when the fast layout does not apply."""
        table = Table(title=self.title, title_justify="left")
        for column in self.columns:
            table.add_column(column)
        for cells in self.rows:
            table.add_row(*cells)
        table.caption = self.caption
        return table

    def widths(self, max_width: int) -> list[int] | None:
        """Each column's width with its padding, when every cell is simple and the table fits
        ``max_width``; None when rich's ``Table`` must lay it out."""
        widths = [len(column) + 2 if column and _plain_markup(column) else 0 for column in self.columns]
        if not all(widths):
            return None
        for cells in self.rows:
            if len(cells) != len(widths):
                return None
            for index, cell in enumerate(cells):
                text = cell if type(cell) is str and _plain_markup(cell) else _plain_text(cell)
                if text is None:
                    return None
                if len(text) + 2 > widths[index]:
                    widths[index] = len(text) + 2
        # The box's two edges and one rule between each two columns.
        if sum(widths) + len(widths) + 1 > max_width:
            return None
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self.widths(options.max_width)
        if widths is None:
            yield self.rich_table()
            return
        table_width = sum(widths) + len(widths) + 1
        # As Table.__rich_console__ renders its title and caption (render_annotation).
        annotation_options = options.update(width=table_width, highlight=False, height=None)
        yield from console.render(console.render_str(self.title, style=_TITLE_STYLE, highlight=False),
                                  options=annotation_options.update(justify="left"))
        yield from self._body(console, options, widths)
        if self.caption:
            yield from console.render(console.render_str(self.caption, style=_CAPTION_STYLE, highlight=False),
                                      options=annotation_options.update(justify="center"))

    def _body(self, console: Console, options: ConsoleOptions, widths: list[int]) -> RenderResult:
        """The rows as Table._render yields them for one-line cells that fit.

        A Table cell is its text padded to the column's width between one space either side,
        the text and its padding in the cell's style (the header's is ``table.header``), the
        spaces in the row's. Neighbouring segments without a style are joined: a console writes
        those as their bare text whatever its color system, so the output is the same.
        """
        get_style = console.get_style
        border = get_style("none") + get_style("")  # Table's style and border_style: none
        shape = _BOX.substitute(options, safe=console.safe_box)
        new_line = Segment.line()
        yield Segment(shape.get_top(widths), border)
        yield new_line

        header = get_style(_HEADER_STYLE) + get_style("")
        last = len(self.columns) - 1
        for index, column in enumerate(self.columns):
            yield Segment(shape.head_left if index == 0 else shape.head_vertical, border)
            yield Segment(" ", header)
            yield Segment(column.ljust(widths[index] - 2), header)
            yield Segment(" ", header)
            if index == last:
                yield Segment(shape.head_right, border)
        yield new_line
        yield Segment(shape.get_row(widths, "head", edge=True), border)
        yield new_line

        plain: list[str] = []  # text of unstyled segments not yet yielded
        count = len(self.rows)
        for row_index, cells in enumerate(self.rows):
            left, vertical, right = ((shape.foot_left, shape.foot_vertical, shape.foot_right)
                                     if row_index == count - 1 else
                                     (shape.mid_left, shape.mid_vertical, shape.mid_right))
            for index, cell in enumerate(cells):
                width = widths[index] - 2
                if type(cell) is str:
                    plain.append(f"{left if index == 0 else vertical} {cell.ljust(width)} ")
                    continue
                assert isinstance(cell, Text)
                style = get_style(cell.style)
                if not style:
                    plain.append(f"{left if index == 0 else vertical} {cell.plain.ljust(width)} ")
                    continue
                plain.append(f"{left if index == 0 else vertical} ")
                yield Segment("".join(plain))
                plain.clear()
                yield Segment(cell.plain.ljust(width), style)
                plain.append(" ")
            plain.append(right)
            yield Segment("".join(plain))
            plain.clear()
            yield new_line
        yield Segment(shape.get_bottom(widths), border)
        yield new_line


def _plain_markup(text: str) -> bool:
    """Text that rich's markup and emoji codes leave as it is, one cell a character.

    A str cell is console markup (``[bold]``) and may hold emoji codes (``:smile:``, two colons);
    non-ASCII characters can be wide, combining or invisible, which rich measures itself.
    """
    return text.isascii() and text.isprintable() and "[" not in text and text.count(":") < 2


def _plain_text(cell: object) -> str | None:
    """A Text cell's characters, when it is one plain line in one style rich only pads."""
    if type(cell) is not Text or cell.spans or cell.justify or cell.overflow or cell.no_wrap is not None:
        return None
    if cell.end != "\n" or cell.tab_size is not None:
        return None
    text = cell.plain
    return text if text.isascii() and text.isprintable() else None
