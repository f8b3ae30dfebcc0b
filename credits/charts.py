"""Charts drawn on the server as SVG, for the usage report (S6, M4).

No chart library and no script: a chart is markup like the rest of the page, so it renders
without JavaScript, under the Content-Security-Policy, and in tests. It scales to its column
(a viewBox, width 100%), is coloured by classes (static/css/usage.css, no inline styles), and
says what it shows to a screen reader: a <title> and a <desc> listing every bar's text, and
a <title> on each bar (a tooltip too). The tables beside each chart carry the same figures.

Functions here are pure: figures in, escaped markup out (`format_html`). The words a bar
carries are given by the caller, already translated and with their numbers formatted.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator


@dataclass(frozen=True)
class Bar:
    label: str  # under a column, or above a horizontal bar: "Jan", "Newsletter"
    value: int
    title: str = (
        ""  # the whole sentence for tooltips and screen readers: "January 2026: 120 credits"
    )
    note: str = ""  # a second line under a column's label ("2026")


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """0 and about `count` round steps (1, 2 or 5 times a power of ten) reaching `maximum`."""
    if maximum <= 0:
        return [0]
    magnitude = 1
    while magnitude * 10 * count <= maximum:
        magnitude *= 10
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * count >= maximum)
    top = -(-maximum // step) * step  # the first step at or above the maximum
    return list(range(0, top + step, step))


def _n(value: float) -> str:
    """A coordinate: one decimal at most, with a point whatever the language."""
    return f"{value:.1f}".removesuffix(".0")


def _figure(value: int) -> str:
    return number_format(value, force_grouping=True)


def _open(chart_id: str, kind: str, width: int, height: int, title: str, bars: Sequence[Bar]):
    description = "; ".join(bar.title or f"{bar.label}: {_figure(bar.value)}" for bar in bars)
    return format_html(
        '<svg class="chart {kind}" id="{id}" viewBox="0 0 {w} {h}" width="100%" role="img"'
        ' preserveAspectRatio="xMidYMid meet" aria-labelledby="{id}-title {id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>',
        kind=kind,
        id=chart_id,
        w=width,
        h=height,
        title=title,
        desc=description,
    )


def column_chart(bars: Sequence[Bar], *, title: str, chart_id: str) -> SafeString:
    """Vertical bars in order (months), over a value axis with round ticks and grid lines."""
    width, height = 480, 240
    ticks = nice_ticks(max((bar.value for bar in bars), default=0))
    # Room on the left for the longest tick label (about 9 units a character on a phone).
    left, right, top, bottom = 12 + 9 * max(len(_figure(tick)) for tick in ticks), 8, 12, 48
    plot_width, plot_height = width - left - right, height - top - bottom
    scale = plot_height / max(ticks[-1], 1)
    base = top + plot_height

    axis = format_html_join(
        "",
        '<g class="tick"><line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text x="{}" y="{}" text-anchor="end">{}</text></g>',
        (
            (left, width - right, _n(y), _n(y), left - 8, _n(y + 4), _figure(tick))
            for tick in ticks
            for y in [base - tick * scale]
        ),
    )
    slot = plot_width / max(len(bars), 1)
    bar_width = slot * 0.7
    every = -(-len(bars) // 12) or 1  # label at most 12 columns, so labels never collide
    columns = []
    for index, bar in enumerate(bars):
        x = left + index * slot + (slot - bar_width) / 2
        middle = left + index * slot + slot / 2
        bar_height = bar.value * scale
        label = ""
        if index % every == 0:
            label = format_html(
                '<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>',
                _n(middle),
                base + 18,
                bar.label,
            )
            if bar.note:
                label += format_html(
                    '<text class="note" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _n(middle),
                    base + 36,
                    bar.note,
                )
        columns.append(
            format_html(
                '<g class="column"><rect class="bar" x="{}" y="{}" width="{}" height="{}"'
                ' data-value="{}"><title>{}</title></rect>{}</g>',
                _n(x),
                _n(base - bar_height),
                _n(bar_width),
                _n(bar_height),
                bar.value,
                bar.title or f"{bar.label}: {_figure(bar.value)}",
                label,
            )
        )
    return format_html(
        '{}<g class="axis">{}<line class="baseline" x1="{}" x2="{}" y1="{}" y2="{}"/></g>'
        '<g class="cols">{}</g></svg>',
        _open(chart_id, "columns", width, height, title, bars),
        axis,
        left,
        width - right,
        base,
        base,
        format_html_join("", "{}", ((column,) for column in columns)),
    )


def bar_chart(bars: Sequence[Bar], *, title: str, chart_id: str) -> SafeString:
    """Horizontal bars, largest first as given: the label and the figure above each bar, so
    long names fit a phone's width."""
    width, row, bar_height = 400, 36, 10
    biggest = max((bar.value for bar in bars), default=0) or 1
    rows = format_html_join(
        "",
        '<g class="row"><text class="label" x="0" y="{}">{}</text>'
        '<text class="value" x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect class="track" x="0" y="{}" width="{}" height="{}"/>'
        '<rect class="bar" x="0" y="{}" width="{}" height="{}" data-value="{}">'
        "<title>{}</title></rect></g>",
        (
            (
                y + 13,
                Truncator(bar.label).chars(32),
                width,
                y + 13,
                _figure(bar.value),
                y + 19,
                width,
                bar_height,
                y + 19,
                _n(width * bar.value / biggest),
                bar_height,
                bar.value,
                bar.title or f"{bar.label}: {_figure(bar.value)}",
            )
            for index, bar in enumerate(bars)
            for y in [index * row]
        ),
    )
    height = max(len(bars), 1) * row
    return format_html("{}{}</svg>", _open(chart_id, "bars", width, height, title, bars), rows)


def top_bars(bars: Sequence[Bar], *, limit: int, rest: str) -> list[Bar]:
    """The first `limit - 1` bars and one bar summing the others, labelled `rest`, so a chart
    of a thousand clients stays a chart (the table beside it lists them all)."""
    if len(bars) <= limit:
        return list(bars)
    others = sum(bar.value for bar in bars[limit - 1 :])
    return [*bars[: limit - 1], Bar(label=rest, value=others)]
