"""Inline SVG charts of the report: bands, lines and markers over ages, with hover values.

A chart is drawn twice, wide (720 units) for screens and print, narrow (380 units, fewer ticks) for
phones; the page's stylesheet shows one. Colours and strokes come from CSS classes (``c-*``), so the
SVG carries geometry only. Each hover column is a transparent rectangle whose ``<title>`` the
browser shows as a tooltip; no script is needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np

WIDE = 720
NARROW = 380
HEIGHT = 320


@dataclass(frozen=True)
class Series:
    """A line: ``y`` at ``x`` (NaN: a gap), drawn with the CSS class ``css``."""

    x: np.ndarray
    y: np.ndarray
    css: str
    label: str


@dataclass(frozen=True)
class Band:
    """A filled band between ``low`` and ``high`` at ``x`` (NaN: a gap)."""

    x: np.ndarray
    low: np.ndarray
    high: np.ndarray
    css: str
    label: str


@dataclass(frozen=True)
class Marker:
    """A vertical line at ``x`` with a label at its top."""

    x: float
    label: str
    css: str = "c-marker"


@dataclass(frozen=True)
class Chart:
    """One chart: what to draw, its axes' titles and tick formats, and its hover columns ``(x0, x1, text)``."""

    id: str
    title: str
    x_title: str
    y_title: str
    y_format: Callable[[float], str]
    bands: Sequence[Band] = ()
    series: Sequence[Series] = ()
    markers: Sequence[Marker] = ()
    hover: Sequence[tuple[float, float, str]] = ()
    y_range: tuple[float, float] | None = None
    min_span: float = 1.0
    """The y axis spans at least this much (a flat line at zero still gets round, distinct ticks)."""
    x_format: Callable[[float], str] = field(default=lambda x: f"{x:g}")

    @property
    def points(self) -> int:
        """Finite points drawn (bands count each age once)."""
        count = sum(int(np.isfinite(s.y).sum()) for s in self.series)
        return count + sum(int((np.isfinite(b.low) & np.isfinite(b.high)).sum()) for b in self.bands)


def nice_step(span: float, count: int) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving at most about ``count`` intervals over ``span``."""
    span = span if span > 0 else 1.0
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = multiple * magnitude
        if span / step <= count + 1e-9:
            return step
    return 10.0 * magnitude


def ticks(low: float, high: float, step: float) -> list[float]:
    """Multiples of ``step`` from ``low`` to ``high`` (inclusive, to rounding)."""
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


def _finite_extent(chart: Chart) -> tuple[float, float, float, float]:
    xs = [np.asarray(s.x, float) for s in chart.series] + [np.asarray(b.x, float) for b in chart.bands]
    ys = [np.asarray(s.y, float) for s in chart.series]
    ys += [np.asarray(b.low, float) for b in chart.bands] + [np.asarray(b.high, float) for b in chart.bands]
    x = np.concatenate(xs) if xs else np.zeros(1)
    y = np.concatenate(ys) if ys else np.zeros(1)
    x = x[np.isfinite(x)]
    y = y[np.isfinite(y)]
    x_low, x_high = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    y_low, y_high = (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
    for marker in chart.markers:
        x_low, x_high = min(x_low, marker.x), max(x_high, marker.x)
    return x_low, x_high, y_low, y_high


def _fmt(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _segments(x: np.ndarray, *ys: np.ndarray) -> list[np.ndarray]:
    """Index runs where ``x`` and every ``ys`` are finite."""
    ok = np.isfinite(x)
    for y in ys:
        ok &= np.isfinite(y)
    runs, start = [], None
    for i, good in enumerate(ok):
        if good and start is None:
            start = i
        elif not good and start is not None:
            runs.append(np.arange(start, i))
            start = None
    if start is not None:
        runs.append(np.arange(start, len(ok)))
    return runs


def render(chart: Chart, width: int = WIDE) -> str:
    """The chart as an ``<svg>`` of ``width`` units (its viewBox; the page scales it to the column)."""
    narrow = width < WIDE
    left, right, top, bottom = (56 if narrow else 76), 14, 30, 44
    plot_w, plot_h = width - left - right, HEIGHT - top - bottom
    x_low, x_high, y_low, y_high = _finite_extent(chart)
    if chart.y_range is not None:
        y_low, y_high = chart.y_range
    else:
        y_low = min(0.0, y_low)
        y_high = max(y_high, y_low + chart.min_span)
        y_high += 0.03 * (y_high - y_low)  # headroom: a line at the top stays off the frame
    y_step = nice_step(y_high - y_low, 4 if narrow else 6)
    y_low = math.floor(y_low / y_step + 1e-9) * y_step
    y_high = math.ceil(y_high / y_step - 1e-9) * y_step
    if y_high <= y_low:
        y_high = y_low + y_step
    if x_high <= x_low:
        x_high = x_low + 1.0
    x_step = nice_step(x_high - x_low, 5 if narrow else 10)
    x_step = max(x_step, 1.0)

    def sx(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y: float) -> float:
        return top + (y_high - y) / (y_high - y_low) * plot_h

    out = [f'<svg class="{"narrow" if narrow else "wide"}" viewBox="0 0 {width} {HEIGHT}" role="img" '
           f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(chart.title)}</title>"]
    # Grid and y ticks
    for tick in ticks(y_low, y_high, y_step):
        y = sy(tick)
        out.append(f'<line class="c-grid" x1="{left}" x2="{left + plot_w}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        out.append(f'<text class="c-tick" x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end">'
                   f"{escape(chart.y_format(tick))}</text>")
    for tick in ticks(x_low, x_high, x_step):
        x = sx(tick)
        out.append(f'<line class="c-axis" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{top + plot_h}" y2="{top + plot_h + 5}"/>')
        out.append(f'<text class="c-tick" x="{_fmt(x)}" y="{top + plot_h + 19}" text-anchor="middle">'
                   f"{escape(chart.x_format(tick))}</text>")
    out.append(f'<line class="c-axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    out.append(f'<text class="c-title" x="{left + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">'
               f"{escape(chart.x_title)}</text>")
    out.append(f'<text class="c-title" x="{left}" y="{top - 12}">{escape(chart.y_title)}</text>')
    # Bands, then lines, then markers
    for band in chart.bands:
        x, low, high = (np.asarray(a, float) for a in (band.x, band.low, band.high))
        for run in _segments(x, low, high):
            upper = " ".join(f"{_fmt(sx(x[i]))},{_fmt(sy(high[i]))}" for i in run)
            lower = " ".join(f"{_fmt(sx(x[i]))},{_fmt(sy(low[i]))}" for i in run[::-1])
            out.append(f'<polygon class="{band.css}" points="{upper} {lower}"/>')
    for series in chart.series:
        x, y = np.asarray(series.x, float), np.asarray(series.y, float)
        for run in _segments(x, y):
            points = " ".join(f"{_fmt(sx(x[i]))},{_fmt(sy(y[i]))}" for i in run)
            if len(run) == 1:
                out.append(f'<circle class="{series.css} c-dot" cx="{_fmt(sx(x[run[0]]))}" '
                           f'cy="{_fmt(sy(y[run[0]]))}" r="3"/>')
            else:
                out.append(f'<polyline class="{series.css}" points="{points}"/>')
    for marker in chart.markers:
        x = sx(marker.x)
        anchor = "end" if x > left + 0.6 * plot_w else "start"
        shift = -4 if anchor == "end" else 4
        out.append(f'<line class="{marker.css}" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{top}" y2="{top + plot_h}"/>')
        out.append(f'<text class="c-label" x="{_fmt(x + shift)}" y="{top + 12}" text-anchor="{anchor}">'
                   f"{escape(marker.label)}</text>")
    for x0, x1, text in chart.hover:
        a, b = max(sx(x0), left), min(sx(x1), left + plot_w)
        if b > a:
            out.append(f'<rect class="hover" x="{_fmt(a)}" y="{top}" width="{_fmt(b - a)}" height="{plot_h}">'
                       f"<title>{escape(text)}</title></rect>")
    out.append("</svg>")
    return "".join(out)


def figure(chart: Chart, legend: Sequence[tuple[str, str]], caption: str, heading: bool = True) -> str:
    """The chart's ``<figure>``: its title, both widths, an HTML legend and the caption.

    ``legend``: ``(css class, label)`` pairs; ``heading``: false where the section's title says it already.
    """
    title = f"<h3>{escape(chart.title)}</h3>" if heading else ""
    items = "".join(f'<li><span class="swatch {css}"></span>{escape(label)}</li>' for css, label in legend)
    return (
        f'<figure class="chart" id="{chart.id}" data-points="{chart.points}">'
        f"{title}{render(chart, WIDE)}{render(chart, NARROW)}"
        f'<ul class="legend">{items}</ul><figcaption>{escape(caption)}</figcaption></figure>'
    )


def steps(starts: np.ndarray, values: np.ndarray, end: float) -> tuple[np.ndarray, np.ndarray]:
    """A step line: each value held from its start to the next start (the last to ``end``)."""
    starts, values = np.asarray(starts, float), np.asarray(values, float)
    ends = np.concatenate((starts[1:], [end])) if starts.size else starts
    x = np.column_stack((starts, ends)).ravel()
    y = np.column_stack((values, values)).ravel()
    return x, y
