"""The geometry of the dashboards' charts, drawn as inline SVG by the templates.

No JavaScript and nothing from the internet (the hospital runs offline): the server works
out every bar's place here and the template writes the rectangles. Each chart names its
axis, writes its value beside or above each bar, and keeps its numbers in a table beside
it for screen readers and for print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Item:
    """One category of a chart: its label in each language, the value the bar is drawn to,
    the text written at its end, and an optional second (lighter) bar behind it."""

    key: str
    label_en: str
    label_hi: str
    value: float
    text: str
    back: float | None = None


@dataclass(frozen=True)
class Tick:
    at: float  # x for a bar chart, y for the hour chart
    label: str


@dataclass(frozen=True)
class HBar:
    key: str
    label: str
    other: str  # the label in the other language
    value: float
    text: str
    y: float
    width: float
    back_width: float | None
    label_y: float = 0.0  # the baseline of the label and of the value
    text_x: float = 0.0  # where the value is written, past the longer bar


@dataclass
class BarChart:
    """Horizontal bars, one per category, labelled on the left, value at the bar's end."""

    axis: str
    width: int = 760
    label_width: int = 250
    plot_width: int = 400
    row: int = 28
    bar: int = 18
    top: int = 8
    bars: list[HBar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, text)
    kind: str = "bars"

    @property
    def height(self) -> int:
        return self.top + max(1, len(self.bars)) * self.row + 46

    @property
    def plot_bottom(self) -> int:
        return self.top + max(1, len(self.bars)) * self.row

    @property
    def plot_right(self) -> int:
        return self.label_width + self.plot_width

    @property
    def axis_x(self) -> float:
        return self.label_width + self.plot_width / 2

    @property
    def label_x(self) -> int:
        return self.label_width - 8

    @property
    def tick_y(self) -> int:
        return self.plot_bottom + 16

    @property
    def axis_y(self) -> int:
        return self.plot_bottom + 36


@dataclass(frozen=True)
class Column:
    hour: int
    value: int
    x: float
    y: float
    height: float
    label: str  # "09"
    center: float = 0.0
    text_y: float = 0.0


@dataclass
class HourChart:
    """The 24 hours of the hospital's day as columns, the count above each."""

    axis: str
    columns: list[Column]
    ticks: list[Tick]
    width: int = 760
    height: int = 240
    left: int = 52
    top: int = 18
    plot_height: int = 170
    column_width: float = 0.0
    bar_width: float = 0.0
    kind: str = "hours"

    @property
    def plot_bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def plot_right(self) -> float:
        return self.width - 8

    @property
    def label_y(self) -> int:
        return self.plot_bottom + 15

    @property
    def axis_y(self) -> int:
        return self.plot_bottom + 34

    @property
    def axis_x(self) -> float:
        return (self.left + self.plot_right) / 2

    @property
    def tick_x(self) -> int:
        return self.left - 6


def nice_scale(largest: float) -> tuple[float, float]:
    """(top of the axis, step between ticks): steps of 1, 2 or 5 times a power of ten,
    at most six of them, the top at or above the largest value."""
    if largest <= 0:
        return 1.0, 1.0
    raw = largest / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1 and float(largest).is_integer():
        step = 1.0
    return step * math.ceil(largest / step), step


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def bar_chart(
    items: list[Item],
    *,
    axis: str,
    hindi: bool,
    top: float | None = None,
    legend: list[tuple[str, str]] | None = None,
) -> BarChart:
    chart = BarChart(axis=axis, legend=legend or [])
    largest = max([i.value for i in items] + [i.back or 0 for i in items] + [0])
    scale_top, step = (top, top / 4) if top else nice_scale(largest)
    scale = chart.plot_width / scale_top
    for n, item in enumerate(items):
        y = chart.top + n * chart.row + (chart.row - chart.bar) / 2
        width = round(max(0.0, item.value) * scale, 1)
        back = round(item.back * scale, 1) if item.back is not None else None
        chart.bars.append(
            HBar(
                key=item.key,
                label=item.label_hi if hindi else item.label_en,
                other=item.label_en if hindi else item.label_hi,
                value=item.value,
                text=item.text,
                y=y,
                width=width,
                back_width=back,
                label_y=y + chart.bar / 2 + 5,
                text_x=round(chart.label_width + max(width, back or 0) + 6, 1),
            )
        )
    value = 0.0
    while value <= scale_top + 1e-9:
        chart.ticks.append(Tick(round(chart.label_width + value * scale, 1), _number(value)))
        value += step
    return chart


def hour_chart(values: list[int], *, axis: str) -> HourChart:
    """Columns for hours 0-23 of ``values`` (24 counts)."""
    chart = HourChart(axis=axis, columns=[], ticks=[])
    scale_top, step = nice_scale(max(values + [0]))
    chart.column_width = (chart.plot_right - chart.left) / 24
    chart.bar_width = round(chart.column_width * 0.72, 1)
    scale = chart.plot_height / scale_top
    for hour, value in enumerate(values):
        height = round(value * scale, 1)
        x = round(chart.left + hour * chart.column_width + chart.column_width * 0.14, 1)
        chart.columns.append(
            Column(
                hour=hour,
                value=value,
                x=x,
                y=round(chart.plot_bottom - height, 1),
                height=height,
                label=f"{hour:02d}",
                center=round(x + chart.bar_width / 2, 1),
                text_y=round(chart.plot_bottom - height - 4, 1),
            )
        )
    tick = 0.0
    while tick <= scale_top + 1e-9:
        chart.ticks.append(Tick(round(chart.plot_bottom - tick * scale, 1), _number(tick)))
        tick += step
    return chart
