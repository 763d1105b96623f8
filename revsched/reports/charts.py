"""Charts as inline SVG, drawn on the server with pygal: readable without JavaScript,
offline and printed.

pygal writes SVG in pure Python (no browser, no numpy): it is imported only when a
chart is drawn, so `revsched --help` and `revsched plays` never pay for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Bars beyond this many are summed as "others": a chart is for the big picture.
MAX_BARS = 15
# pygal writes its config as an inline script even with no scripts to load; unused here.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b", "#ec4899")


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str


def _style() -> Any:
    from pygal.style import Style

    return Style(
        background="white",
        plot_background="white",
        foreground="#1f2937",
        foreground_strong="#111827",
        foreground_subtle="#9ca3af",
        colors=PALETTE,
        font_family="system-ui, -apple-system, 'Segoe UI', sans-serif",
        title_font_size=16,
        label_font_size=12,
        major_label_font_size=12,
        legend_font_size=12,
        value_font_size=11,
    )


def _options(title: str, **extra: Any) -> dict[str, Any]:
    """No XML prolog (the SVG sits inside the page) and no script: pygal's default
    tooltips load JavaScript from the internet, which a report must never do."""
    return {
        "title": title,
        "style": _style(),
        "disable_xml_declaration": True,
        "js": [],
        "width": 720,
        "height": 320,
        "print_values": False,
        "truncate_label": 40,
        **extra,
    }


def _chart(title: str, chart: Any) -> Chart:
    return Chart(title, _SCRIPT.sub("", chart.render(is_unicode=True)))


def compact(value: float) -> str:
    """An axis label: 950, 12k, 1.5M."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _scale(values: Sequence[float | None]) -> dict[str, Any]:
    """Counts get whole-number graduations (no 0.2 records); every axis reads compact."""
    known = [v for v in values if v is not None]
    options: dict[str, Any] = {"value_formatter": compact}
    if known and all(float(v).is_integer() for v in known) and min(known) >= 0:
        step = max(1, math.ceil(max(known) / 8))
        options["y_labels"] = list(range(0, int(max(known)) + step, step))
    return options


def _top(counts: Mapping[str, float]) -> list[tuple[str, float]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if len(ranked) <= MAX_BARS:
        return ranked
    rest = sum(value for _label, value in ranked[MAX_BARS - 1 :])
    return [*ranked[: MAX_BARS - 1], ("others", rest)]


def bars(title: str, series: Mapping[str, Mapping[str, float]]) -> Chart:
    """Horizontal bars per label, one bar colour per series (e.g. count and ARR share the
    labels of the first series)."""
    import pygal

    first = next(iter(series.values()))
    labels = [label for label, _value in _top(first)]
    height = max(180, 60 + 26 * len(labels) * max(1, len(series)))
    values = [v for counts in series.values() for v in counts.values()]
    chart = pygal.HorizontalBar(
        **_options(title, height=height, show_legend=len(series) > 1, **_scale(values))
    )
    chart.x_labels = labels
    for name, counts in series.items():
        chart.add(name, [counts.get(label, 0) for label in labels])
    return _chart(title, chart)


def columns(
    title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[float]], stack: bool = False
) -> Chart:
    """Columns along x_labels (days, buckets), one colour per series, side by side or
    stacked."""
    import pygal

    heights = (
        [sum(column) for column in zip(*series.values(), strict=True)]
        if stack
        else [v for values in series.values() for v in values]
    )
    kind = pygal.StackedBar if stack else pygal.Bar
    every = max(1, len(x_labels) // 10)
    chart = kind(
        **_options(
            title,
            legend_at_bottom=True,
            x_label_rotation=30 if len(x_labels) > 8 else 0,
            show_minor_x_labels=every == 1,
            x_labels_major_every=every,
            **_scale(heights),
        )
    )
    chart.x_labels = list(x_labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _chart(title, chart)


def lines(
    title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[float | None]]
) -> Chart:
    """One line per series over x_labels (days, runs)."""
    import pygal

    chart = pygal.Line(
        **_options(
            title,
            legend_at_bottom=True,
            x_label_rotation=30,
            show_minor_x_labels=False,
            x_labels_major_every=max(1, len(x_labels) // 10),
            **_scale([v for values in series.values() for v in values]),
        )
    )
    chart.x_labels = list(x_labels)
    for name, values in series.items():
        chart.add(name, list(values))
    return _chart(title, chart)
