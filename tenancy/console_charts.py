"""A chart of a console dashboard, and its empty state.

The contract every dashboard follows (templates/console/_chart.html draws it; the
browser crawl checks it on every page): each chart sits in an element with
`data-chart="<name>"` under a visible heading. Inside is either a Plotly graph with at
least one trace that has points, or, when there is nothing to draw, no graph at all and
an element with `data-empty-state` whose sentence says what will fill the chart and how.
An empty Plotly figure (bare axes running from -1 to 6) is never drawn.

    chart("severity", _("Events by severity"), figure_or_none, empty=_("No security events ..."))

Pass None as the figure when the data is empty; a figure whose traces hold no points
counts as empty too. The page loads Plotly (the security dashboard serves the installed
bundle: no CDN) and then `console/charts.js`, which draws each figure from its JSON once
the page is visible: unfold keeps the page hidden (`x-cloak`) until its scripts ran, and
a graph drawn while hidden is measured at 700 pixels with labels of zero width.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString

# unfold's primary (purple-600) for what matters now, its base grey for the rest.
PRIMARY, MUTED = "#9333ea", "#9ca3af"
FONT = {"family": "Inter, ui-sans-serif, system-ui, sans-serif", "color": "#374151"}
# Plotly's logo link has no accessible name; the mode bar's buttons do.
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
_POINT_ARRAYS = ("x", "y", "z", "values", "labels")


@dataclass(frozen=True)
class Chart:
    name: str
    title: Any
    html: SafeString | str  # "" when the chart shows its empty state
    empty: Any  # what will fill the chart, and how
    note: Any = ""  # a line under the heading (what the chart counts, a limit)

    @property
    def is_empty(self) -> bool:
        return not self.html


def has_points(figure) -> bool:
    for trace in getattr(figure, "data", ()) or ():
        data = trace.to_plotly_json()
        for name in _POINT_ARRAYS:
            values = data.get(name)
            if values is not None and len(values) > 0:
                return True
    return False


def styled(figure, **layout):
    """The console's look for a figure (font, white ground, legend below, light grid,
    y from zero), plus the chart's own `layout` settings."""
    figure.update_layout(
        font=FONT,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        legend={"orientation": "h", "y": -0.2},
        **layout,
    )
    figure.update_yaxes(gridcolor="#e5e7eb", zeroline=False, rangemode="tozero")
    return figure


def chart(name: str, title, figure, *, empty, note="", height: int = 320) -> Chart:
    if figure is None or not has_points(figure):
        return Chart(name, title, "", empty, note)
    figure.update_layout(height=height, margin={"l": 56, "r": 16, "t": 16, "b": 48})
    spec = json.loads(figure.to_json())  # Plotly's encoder: dates, numpy arrays
    spec["config"] = PLOTLY_CONFIG
    html = format_html(
        '<div id="chart-{}" class="plotly-graph-div" style="height:{}px; width:100%;"></div>{}',
        name,
        height,
        json_script(spec, f"chart-{name}-figure"),
    )
    return Chart(name, title, html, empty, note)
