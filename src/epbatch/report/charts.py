"""The report's charts: SVG text written by hand (inline, offline, no script, no dependency).

Each chart is one ``<svg>`` element of fixed width (its viewBox scales it to the page) whose
height grows with its rows. Text stays text (searchable) and goes through ``html.escape``; the
only element id starts with the chart's ``salt``, so several inline SVGs never share one. There
are no font metrics offline: text widths are estimated from the number of characters.

A chart shows at most ``MAX_BARS`` bars (or ``MAX_GROUPS`` groups); the caller says what was left
out, and the tables keep every row. Missing values (None, NaN) draw no bar and no point.
"""

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

MAX_BARS = 50
MAX_GROUPS = 20
WIDTH = 1000  # viewBox units: about the report's column width in CSS pixels
FONT, SMALL = 12, 11  # labels; ticks and legend
CHAR = 0.58  # a character's estimated width, in font sizes
PAD = 10
ROW_GAP = 8  # between two categories of bars
LINE = 18  # a legend line
PANEL_H, PANEL_GAP = 130, 16  # the scatter grid's
FAMILY = "system-ui,-apple-system,Segoe UI,Roboto,sans-serif"
INK, MUTED, GRID, AXIS, FRAME = "#1d2430", "#5b6472", "#e4e7eb", "#3d4450", "#c5cad3"
TAB10 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip
TAB20 = [
    "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
    "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
    "#bcbd22", "#dbdb8d", "#17becf", "#9edae5",
]  # fmt: skip


# --- values and ticks ----------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A finite float, or None for a missing value (None, NaN, pd.NA, infinite, not a number)."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """About ``count`` steps of 1, 2 or 5 times a power of ten, from at or below ``lo`` to at
    or above ``hi`` (0 to 1 when both are 0)."""
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo:
        lo, hi = (0.0, 1.0) if lo == 0 else (lo - abs(lo) / 2, hi + abs(hi) / 2)
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [k * step for k in range(first, last + 1)]


def _tick_label(value: float, step: float) -> str:
    """``value`` with as many decimals as the tick ``step`` needs, thousands separated."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:,.{decimals}f}"


def _labelled_ticks(lo: float, hi: float, count: int) -> list[tuple[float, str]]:
    """``nice_ticks`` with their labels."""
    ticks = nice_ticks(lo, hi, count)
    return [(t, _tick_label(t, ticks[1] - ticks[0])) for t in ticks]


def _colors(n: int) -> list[str]:
    """tab10 for up to 10 series, else tab20 (repeated past 20)."""
    palette = TAB10 if n <= 10 else TAB20
    return [palette[i % len(palette)] for i in range(n)]


@dataclass(frozen=True)
class _Scale:
    """Data values ``lo``..``hi`` onto the coordinates ``start``..``end``."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.end - self.start)


# --- SVG elements ------------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(value: float) -> str:
    """A coordinate, to a tenth of a unit."""
    return f"{value:.1f}".removesuffix(".0")


def _width(text: str, size: float) -> float:
    return len(text) * size * CHAR


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _attributes(attributes: dict[str, object]) -> str:
    """``font_size=11`` as ``font-size="11"`` (``class_`` as ``class``)."""
    return "".join(f' {k.strip("_").replace("_", "-")}="{_e(v)}"' for k, v in attributes.items())


def _text(x: float, y: float, text: str, tip: str = "", **attributes: object) -> str:
    """A ``<text>`` centred vertically on ``y``, with ``tip`` (e.g. the untruncated text) as
    its tooltip when it says more."""
    title = f"<title>{_e(tip)}</title>" if tip and tip != text else ""
    head = f'<text x="{_n(x)}" y="{_n(y)}" dy=".35em"{_attributes(attributes)}>'
    return f"{head}{_e(text)}{title}</text>"


def _rect(x: float, y: float, w: float, h: float, tip: str = "", **attributes: object) -> str:
    head = (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"{_attributes(attributes)}'
    )
    return f"{head}><title>{_e(tip)}</title></rect>" if tip else f"{head}/>"


def _svg(body: Iterable[str], height: float, salt: str, title: str) -> str:
    ident = _e(f"{salt}-title")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'width="{WIDTH}" height="{_n(height)}" role="img" aria-labelledby="{ident}" '
        f'font-family="{FAMILY}" font-size="{FONT}" fill="{INK}">'
        f'<title id="{ident}">{_e(title)}</title>{"".join(body)}</svg>'
    )


def _spaced(labels: Iterable[tuple[float, str]]) -> list[tuple[float, str]]:
    """The tick labels (centre x, text), left to right, that do not overlap the last kept."""
    kept: list[tuple[float, str]] = []
    edge = -math.inf
    for x, text in labels:
        half = _width(text, SMALL) / 2
        if x - half >= edge + 4:
            kept.append((x, text))
            edge = x + half
    return kept


def _x_tick_labels(labels: Iterable[tuple[float, str]], y: float) -> list[str]:
    """Tick labels (x, text) centred below their ticks, those that would overlap left out."""
    return [
        _text(x, y, text, class_="tick", text_anchor="middle", font_size=SMALL, fill=MUTED)
        for x, text in _spaced(labels)
    ]


def _columns(widths: Sequence[float], room: float) -> tuple[int, list[float], float]:
    """Legend items of these widths laid out in ``room``: items per line, each column's offset
    and a line's width. One line of items as wide as their names if they fit, else aligned
    columns, the lines filled evenly."""
    if sum(widths) <= room:
        return len(widths), [sum(widths[:i]) for i in range(len(widths))], sum(widths)
    widest = max(widths)
    fit = max(1, int(room // widest))
    per_line = math.ceil(len(widths) / math.ceil(len(widths) / fit))
    return per_line, [i * widest for i in range(per_line)], per_line * widest


def _legend(
    names: Sequence[str], fills: Sequence[str], title: str, y: float
) -> tuple[list[str], float]:
    """A swatch and a name per series after a bold ``title`` (if any), centred, from ``y``
    down; its parts and height."""
    if not names:
        return [], 0.0
    shorts = [_truncate(name, 40) for name in names]
    title_w = _width(title, SMALL) + 14 if title else 0.0
    per_line, offsets, line_w = _columns(
        [17 + _width(short, SMALL) + 16 for short in shorts], WIDTH - 2 * PAD - title_w
    )
    x0 = (WIDTH + title_w - line_w + 16) / 2  # the last item's gap not counted
    parts = []
    if title:
        parts.append(_text(x0 - title_w, y + LINE / 2, title, font_size=SMALL, font_weight="600"))
    for i, (short, name, fill) in enumerate(zip(shorts, names, fills, strict=True)):
        x, middle = x0 + offsets[i % per_line], y + (i // per_line + 0.5) * LINE
        parts.append(_rect(x, middle - 6, 12, 12, fill=fill))
        parts.append(_text(x + 17, middle, short, name, font_size=SMALL))
    return parts, math.ceil(len(names) / per_line) * LINE


# --- bar charts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bar:
    row: int  # the category, from the top
    slot: int  # the place within the row: one per series side by side, 0 when stacked
    start: float
    end: float
    series: int
    tip: str  # its tooltip


def _bar_chart(
    labels: Sequence[str],
    label_chars: int,
    names: Sequence[str],
    bars: Sequence[_Bar],
    slots: int,
    xlabel: str,
    salt: str,
    legend_title: str = "",
) -> str:
    """Horizontal bars on a value axis with 0 in it: the category ``labels`` on the left (cut
    to ``label_chars``), tick labels and ``xlabel`` below, then the legend of ``names``."""
    shorts = [_truncate(label, label_chars) for label in labels]
    left = PAD + max((_width(t, FONT) for t in shorts), default=0.0) + 10
    right = WIDTH - PAD - 30  # room for half the last tick label
    slot_h = min(14.0, max(5.0, 30 / max(slots, 1)))
    row_h = max(slots, 1) * slot_h + ROW_GAP
    top, bottom = PAD, PAD + max(len(labels), 1) * row_h
    ends = [0.0, *(v for b in bars for v in (b.start, b.end))]
    ticks = _labelled_ticks(min(ends), max(ends), max(2, int((right - left) // 90)))
    x = _Scale(ticks[0][0], ticks[-1][0], left, right)
    fills = _colors(len(names))
    grid = "".join(f"M{_n(x(t))} {top}V{_n(bottom)}" for t, _ in ticks)
    parts = [f'<path d="{grid}" stroke="{GRID}" fill="none"/>']
    for b in bars:
        y = top + b.row * row_h + ROW_GAP / 2 + b.slot * slot_h
        x0, x1 = sorted((x(b.start), x(b.end)))
        height = slot_h - (1 if slots > 1 else 0)
        parts.append(_rect(x0, y, x1 - x0, height, b.tip, class_="bar", fill=fills[b.series]))
    parts.append(
        f'<path class="zero" d="M{_n(x(0))} {top}V{_n(bottom)}" stroke="{AXIS}" fill="none"/>'
    )
    for i, (short, label) in enumerate(zip(shorts, labels, strict=True)):
        parts.append(_text(left - 6, top + (i + 0.5) * row_h, short, label, text_anchor="end"))
    parts += _x_tick_labels(((x(t), text) for t, text in ticks), bottom + 12)
    parts.append(_text((left + right) / 2, bottom + 32, xlabel, text_anchor="middle"))
    legend, legend_h = _legend(names, fills, legend_title, bottom + 48)
    return _svg([*parts, *legend], bottom + 52 + legend_h + PAD, salt, xlabel)


def grouped_bars(
    frame: pd.DataFrame, group: str, series: str, value: str, xlabel: str, salt: str
) -> str:
    """Horizontal bars of ``value``: one block per ``group`` (e.g. model · weather), one bar
    per ``series`` (e.g. construction set) in each, one colour per series."""
    groups = [str(g) for g in dict.fromkeys(frame[group])][:MAX_GROUPS]
    names = [str(n) for n in dict.fromkeys(frame[series])]
    values = {
        (str(g), str(n)): v
        for g, n, v in zip(frame[group], frame[series], frame[value], strict=True)
    }
    bars = [
        _Bar(g, s, 0.0, v, s, f"{group_name} · {name}: {v:,.2f}")
        for g, group_name in enumerate(groups)
        for s, name in enumerate(names)
        if (v := _number(values.get((group_name, name)))) is not None
    ]
    title = series.replace("_", " ")
    return _bar_chart(groups, 38, names, bars, len(names), xlabel, salt, title)


def multi_bars(
    labels: Sequence[str], columns: dict[str, Sequence[float]], xlabel: str, salt: str
) -> str:
    """Horizontal bars side by side: for each label, one bar per column (e.g. site, heating,
    cooling savings in %), negative ones left of the zero line."""
    labels = [str(label) for label in labels][:MAX_BARS]
    names = list(columns)
    bars = [
        _Bar(i, c, 0.0, v, c, f"{label} · {name}: {v:,.2f}")
        for c, name in enumerate(names)
        for i, (label, raw) in enumerate(zip(labels, columns[name], strict=False))
        if (v := _number(raw)) is not None
    ]
    return _bar_chart(labels, 60, names, bars, len(names), xlabel, salt)


def stacked_bars(
    labels: Sequence[str], parts: dict[str, Sequence[float]], xlabel: str, salt: str
) -> str:
    """One horizontal bar per label, stacked from ``parts`` (e.g. the end uses, GJ): positive
    parts right of zero, negative ones (e.g. generators giving energy back) left of it; parts
    of 0 draw nothing."""
    labels = [str(label) for label in labels][:MAX_BARS]
    names = list(parts)
    bars = []
    for i, label in enumerate(labels):
        ends = [0.0, 0.0]  # the negative stack's left end, the positive one's right end
        for s, name in enumerate(names):
            v = _number(parts[name][i]) if i < len(parts[name]) else None
            if v:
                side = int(v > 0)
                bars.append(
                    _Bar(i, 0, ends[side], ends[side] + v, s, f"{label} · {name}: {v:,.2f}")
                )
                ends[side] += v
    return _bar_chart(labels, 60, names, bars, 1, xlabel, salt)


# --- the scatter grid ----------------------------------------------------------------------------


def _axis(values: Sequence[float | None], count: int) -> tuple[_Scale, list[tuple[float, str]]]:
    """A panel's axis: the values' range and 5 % more each side (coordinates 0 to 1: the
    panel places it), and its labelled ticks in that range."""
    known = [v for v in values if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    ticks = _labelled_ticks(lo, hi, count)
    if hi == lo:
        lo, hi = ticks[0][0], ticks[-1][0]
    margin = (hi - lo) * 0.05
    lo, hi = lo - margin, hi + margin
    return _Scale(lo, hi, 0, 1), [(t, text) for t, text in ticks if lo <= t <= hi]


def scatter_grid(frame: pd.DataFrame, outputs: list[str], parameters: list[str], salt: str) -> str:
    """Each output (rows) against each parameter (columns), one point per succeeded variant;
    the panels of a row share their y axis, those of a column their x axis."""
    xs = {p: [_number(v) for v in frame[p]] for p in parameters}
    ys = {o: [_number(v) for v in frame[o]] for o in outputs}
    y_axes = {o: _axis(ys[o], 4) for o in outputs}
    tick_w = max((_width(t, SMALL) for _, ts in y_axes.values() for _, t in ts), default=0.0)
    left = PAD + 16 + tick_w + 6
    gaps = PANEL_GAP * (len(parameters) - 1)
    panel_w = (WIDTH - left - PAD - gaps) / max(len(parameters), 1)
    x_axes = {p: _axis(xs[p], max(2, int(panel_w // 45))) for p in parameters}
    bottom = PAD + len(outputs) * (PANEL_H + PANEL_GAP) - PANEL_GAP
    parts: list[str] = []
    x_ticks: list[tuple[float, str]] = []  # the bottom row's
    for r, output in enumerate(outputs):
        top = PAD + r * (PANEL_H + PANEL_GAP)
        y = replace(y_axes[output][0], start=top + PANEL_H, end=top)
        for c, parameter in enumerate(parameters):
            x0 = left + c * (panel_w + PANEL_GAP)
            x = replace(x_axes[parameter][0], start=x0, end=x0 + panel_w)
            parts += _panel(x, y, x_axes[parameter][1], y_axes[output][1])
            parts.append(_points(x, y, xs[parameter], ys[output]))
            if r == len(outputs) - 1:
                x_ticks += [(x(t), text) for t, text in x_axes[parameter][1]]
                name = _truncate(parameter, int(panel_w // (FONT * CHAR)))
                parts.append(
                    _text(x0 + panel_w / 2, bottom + 30, name, parameter, text_anchor="middle")
                )
        parts += _y_tick_labels(y, y_axes[output][1], left - 5)
        name = _truncate(output, int(PANEL_H // (SMALL * CHAR)))
        label = _text(0, 0, name, output, text_anchor="middle", font_size=SMALL)
        parts.append(
            f'<g transform="translate({_n(PAD + 6)} {_n(top + PANEL_H / 2)}) rotate(-90)">'
            f"{label}</g>"
        )
    parts += _x_tick_labels(x_ticks, bottom + 12)
    title = f"{', '.join(outputs)} against {', '.join(parameters)}"
    return _svg(parts, bottom + 40 + PAD, salt, title)


def _y_tick_labels(y: _Scale, ticks: list[tuple[float, str]], right: float) -> list[str]:
    return [
        _text(right, y(t), text, class_="tick", text_anchor="end", font_size=SMALL, fill=MUTED)
        for t, text in ticks
    ]


def _panel(
    x: _Scale, y: _Scale, x_ticks: list[tuple[float, str]], y_ticks: list[tuple[float, str]]
) -> list[str]:
    """A panel's grid lines and frame."""
    grid = "".join(f"M{_n(x(t))} {_n(y.end)}V{_n(y.start)}" for t, _ in x_ticks) + "".join(
        f"M{_n(x.start)} {_n(y(t))}H{_n(x.end)}" for t, _ in y_ticks
    )
    return [
        f'<path d="{grid}" stroke="{GRID}" fill="none"/>' if grid else "",
        _rect(x.start, y.end, x.end - x.start, y.start - y.end, fill="none", stroke=FRAME),
    ]


def _points(x: _Scale, y: _Scale, xs: Sequence[float | None], ys: Sequence[float | None]) -> str:
    """The points as one path of zero-length lines with round caps (a dot each, a few bytes);
    "no numbers" when no variant has both values."""
    dots = "".join(
        f"M{_n(x(a))} {_n(y(b))}h0"
        for a, b in zip(xs, ys, strict=True)
        if a is not None and b is not None
    )
    if not dots:
        middle = ((x.start + x.end) / 2, (y.start + y.end) / 2)
        return _text(*middle, "no numbers", text_anchor="middle", font_size=SMALL, fill=MUTED)
    return (
        f'<path class="points" d="{dots}" stroke="{TAB10[0]}" stroke-opacity=".65" '
        'stroke-width="5" stroke-linecap="round" fill="none"/>'
    )
