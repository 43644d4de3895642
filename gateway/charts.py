"""Charts drawn on the server as inline SVG: no script, no font or image from anywhere, nothing
for the Content-Security-Policy to allow.

Each chart is an `<svg role="img">` named by its `<title>` and `<desc>`; the page puts the same
figures in a table next to it.  Geometry is worked out along the reading direction, from the
start side, then mirrored for right-to-left pages, so Arabic charts start on the right: bars
grow leftwards and the months run from right to left.  Colours are presentation attributes,
each at least 3:1 against white (WCAG 1.4.11) and told apart by the legend and the tables too.
"""
import math

from markupsafe import Markup, escape

WIDTH = 640
INK, MUTED, LINE = "#1d2327", "#50575e", "#c3c4c7"
PROCESSED, PENDING, SUBMITTED = "#006233", "#8a5300", "#50575e"  # green, amber brown, grey
FONT_SIZE, SMALL_FONT_SIZE = 13, 11
LONGEST_LABEL = 80  # characters of a name on one line of a chart


class Canvas:
    """SVG elements placed along the reading direction: `start` is the left edge of a
    left-to-right page and the right edge of a right-to-left one."""

    def __init__(self, height: float, rtl: bool):
        self.height, self.rtl, self.parts = height, rtl, []

    def _x(self, start: float, length: float = 0) -> float:
        return round(WIDTH - start - length if self.rtl else start, 1)

    def rect(self, start: float, top: float, length: float, height: float, fill: str) -> None:
        if length > 0:
            self.parts.append(f'<rect x="{self._x(start, length)}" y="{round(top, 1)}" width="{round(length, 1)}" '
                              f'height="{round(height, 1)}" fill="{fill}"/>')

    def line(self, start: float, top: float, length: float) -> None:
        self.parts.append(f'<line x1="{self._x(start)}" x2="{self._x(start + length)}" y1="{top}" y2="{top}" '
                          f'stroke="{LINE}" stroke-width="1"/>')

    def text(self, start: float, baseline: float, content, anchor: str = "start", size: int = FONT_SIZE,
             fill: str = INK) -> None:
        """`anchor` start, middle or end, along the reading direction (the svg carries it)."""
        self.parts.append(f'<text x="{self._x(start)}" y="{round(baseline, 1)}" text-anchor="{anchor}" '
                          f'font-size="{size}" fill="{fill}">{escape(content)}</text>')

    def render(self, chart_id: str, title: str, description: str) -> Markup:
        direction = "rtl" if self.rtl else "ltr"
        return Markup(
            f'<svg class="chart" id="{chart_id}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
            f'viewBox="0 0 {WIDTH} {round(self.height)}" direction="{direction}" focusable="false" '
            f'xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{chart_id}-title">{escape(title)}</title>'
            f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
            + "".join(self.parts) + "</svg>")


def nice_ceiling(value: float) -> float:
    """The axis' top: the first of 1, 2, 2.5, 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def ranking(chart_id: str, title: str, description: str, rows: list[tuple], top: float, rtl: bool) -> Markup:
    """One bar per row, in the order given: rows are (label, value, value as shown at the bar's end,
    detail); `top` is the value of a full-length bar.  The label is above the bar and the detail
    under it, each on a line of its own, so long names and sentences fit."""
    row_height, bar_height, value_room = 60, 14, 90
    canvas = Canvas(len(rows) * row_height + 4, rtl)
    for index, (label, value, shown, detail) in enumerate(rows):
        top_of_row = index * row_height
        length = max((WIDTH - value_room) * (value / top if top else 0), 1)
        canvas.text(0, top_of_row + 15, shortened(label))
        canvas.rect(0, top_of_row + 21, length, bar_height, PROCESSED)
        canvas.text(length + 6, top_of_row + 33, shown, size=SMALL_FONT_SIZE, fill=INK)
        canvas.text(0, top_of_row + 50, detail, size=SMALL_FONT_SIZE, fill=MUTED)
    return canvas.render(chart_id, title, description)


def columns(chart_id: str, title: str, description: str, groups: list[tuple], colours: tuple[str, ...],
            value_format, rtl: bool) -> Markup:
    """Groups of columns side by side along the reading direction, e.g. months: each group is
    (label, second label line, values), one value per colour."""
    axis_room, plot_top, plot_bottom = 48, 24, 214
    canvas = Canvas(plot_bottom + 40, rtl)
    top = nice_ceiling(max((value for _label, _line, values in groups for value in values), default=0))
    plot_height = plot_bottom - plot_top
    for fraction in (0, 0.5, 1):
        level = plot_bottom - plot_height * fraction
        canvas.line(axis_room, level, WIDTH - axis_room)
        canvas.text(axis_room - 6, level + 4, value_format(top * fraction), anchor="end", size=SMALL_FONT_SIZE,
                    fill=MUTED)
    slot = (WIDTH - axis_room) / max(len(groups), 1)
    column = min(slot * 0.8 / max(len(colours), 1), 28)
    for index, (label, second_line, values) in enumerate(groups):
        middle = axis_room + slot * (index + 0.5)
        first = middle - column * len(values) / 2
        for offset, (value, colour) in enumerate(zip(values, colours)):
            height = plot_height * value / top
            canvas.rect(first + offset * column, plot_bottom - height, column - 2, height, colour)
            if len(groups) <= 12:
                canvas.text(first + (offset + 0.5) * column - 1, plot_bottom - height - 4, value_format(value),
                            anchor="middle", size=SMALL_FONT_SIZE - 1, fill=MUTED)
        canvas.text(middle, plot_bottom + 16, label, anchor="middle", size=SMALL_FONT_SIZE)
        canvas.text(middle, plot_bottom + 30, second_line, anchor="middle", size=SMALL_FONT_SIZE, fill=MUTED)
    return canvas.render(chart_id, title, description)


def shares(chart_id: str, title: str, description: str, rows: list[tuple], colours: tuple[str, ...],
           rtl: bool) -> Markup:
    """One full-length bar per row split into its parts, e.g. processed and pending: rows are
    (label, values, detail), one value per colour; the detail under the bar says the figures."""
    row_height, bar_height = 62, 16
    canvas = Canvas(len(rows) * row_height + 4, rtl)
    for index, (label, values, detail) in enumerate(rows):
        top_of_row = index * row_height
        canvas.text(0, top_of_row + 15, shortened(label))
        whole, start = sum(values), 0.0
        for value, colour in zip(values, colours):
            length = WIDTH * value / whole if whole else 0
            canvas.rect(start, top_of_row + 21, length, bar_height, colour)
            start += length
        if not whole:
            canvas.rect(0, top_of_row + 21, WIDTH, bar_height, LINE)
        canvas.text(0, top_of_row + 52, detail, size=SMALL_FONT_SIZE, fill=MUTED)
    return canvas.render(chart_id, title, description)


def shortened(label: str) -> str:
    """A name cut to what a line of the chart holds (the table next to it has it whole)."""
    return label if len(label) <= LONGEST_LABEL else label[:LONGEST_LABEL - 1].rstrip() + "…"
