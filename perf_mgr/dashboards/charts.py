"""The dashboards' Plotly figures, from `data`: each one drawn, or its empty state
saying what will fill it (tenancy/console_charts.py)."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from perf_mgr.dashboards.insights import anomalies_chart, forecast_chart
from tenancy.console_charts import MUTED, PRIMARY, Chart, chart, styled

LINES = {"p50": "#64748b", "p95": "#9333ea", "p99": "#dc2626"}
STATE_COLOURS = {"success": "#16a34a", "failure": "#dc2626", "retry": "#d97706"}
FIRING = "#dc2626"
DAY_MS = 86_400_000


def _window_axis(figure: go.Figure, data: dict) -> None:
    figure.update_xaxes(type="date", range=[data["since"].isoformat(), data["until"].isoformat()])


# --- Performance -----------------------------------------------------------------------


def latency_chart(data: dict) -> Chart:
    points, firings = data["points"], data["firings"]
    figure = None
    if points or firings:
        x = [p["at"].isoformat() for p in points]
        traces = [
            go.Scatter(
                name=q,
                x=x,
                y=[round((p[q] or 0) * 1000, 2) for p in points],
                mode="lines+markers",
                line={"color": LINES[q], "width": 2},
                marker={"size": 4},
                hovertemplate="%{x}: %{y} ms<extra>" + q + "</extra>",
            )
            for q in ("p50", "p95", "p99")
            if points
        ]
        if firings:
            top = max([p["p99"] or 0 for p in points] or [0]) * 1000 or 1.0
            traces.append(
                go.Scatter(
                    name=_("alert fired"),
                    x=[f["at"].isoformat() for f in firings],
                    y=[top] * len(firings),
                    mode="markers",
                    marker={"symbol": "triangle-down", "size": 12, "color": FIRING},
                    text=[f"{f['rule']} ({f['severity']})" for f in firings],
                    hovertemplate="%{x}: %{text}<extra></extra>",
                )
            )
        figure = go.Figure(traces)
        styled(figure, yaxis_title=_("latency (ms)"))
        _window_axis(figure, data)
    return chart(
        "latency",
        _("Request latency (p50, p95, p99), last 24 hours"),
        figure,
        note=_("Every 15 minutes; red triangles mark alert firings."),
        empty=_(
            "No request in the last 24 hours. The API's and the console's requests in this "
            "tenant are measured as they are made and drawn here every 15 minutes (p50, p95, "
            "p99), with the alert rules' firings marked."
        ),
    )


def throughput_chart(data: dict) -> Chart:
    points = data["points"]
    figure = None
    if points:
        minutes = data["step_s"] / 60
        figure = go.Figure(
            go.Bar(
                name=_("requests per minute"),
                x=[p["at"].isoformat() for p in points],
                y=[round(p["count"] / minutes, 3) for p in points],
                width=data["step_s"] * 1000,
                offset=0,
                marker_color=PRIMARY,
                hovertemplate="%{x}: %{y}/min<extra></extra>",
            )
        )
        styled(figure, yaxis_title=_("requests per minute"))
        _window_axis(figure, data)
    return chart(
        "throughput",
        _("Throughput"),
        figure,
        note=_("Requests: %(n)s in 24 hours") % {"n": data["requests"]},
        empty=_(
            "No request to count yet. Each request of this tenant (API and console) adds to "
            "the 15-minute point it was made in."
        ),
    )


def errors_chart(data: dict) -> Chart:
    points = data["points"]
    figure = None
    if points:
        figure = go.Figure(
            go.Bar(
                name=_("5xx answers"),
                x=[p["at"].isoformat() for p in points],
                y=[p["errors"] for p in points],
                customdata=[round(100 * p["errors"] / p["count"], 2) for p in points],
                width=data["step_s"] * 1000,
                offset=0,
                marker_color=FIRING,
                hovertemplate="%{x}: %{y} (%{customdata} %)<extra></extra>",
            )
        )
        styled(figure, yaxis_title=_("5xx answers"))
        figure.update_yaxes(rangemode="tozero", range=[0, max(p["errors"] for p in points) + 1])
        _window_axis(figure, data)
    return chart(
        "errors",
        _("Errors (5xx answers)"),
        figure,
        note=_("Errors: %(n)s in 24 hours") % {"n": data["errors"]},
        empty=_(
            "No request, so no error rate yet. Server errors (5xx answers) of this tenant's "
            "requests are counted here every 15 minutes once requests are made."
        ),
    )


def performance_charts(data: dict) -> dict[str, Chart]:
    charts = [latency_chart(data), throughput_chart(data), errors_chart(data)]
    charts += [anomalies_chart(data), forecast_chart(data)]
    return {c.name: c for c in charts}


# --- Business ---------------------------------------------------------------------------

BUSINESS_EMPTY = {
    "active_users": gettext_lazy(
        "No user was active in the last 7 days. Users appear here day by day once they open "
        "sessions (the sessions API, POST /api/v1/sessions/, or the seed's SessionManager)."
    ),
    "sessions": gettext_lazy(
        "No session started in the last 7 days. Sessions opened through the sessions API or "
        "the SessionManager are counted here per day."
    ),
    "records": gettext_lazy(
        "No metadata record written in the last 7 days. Creations, updates, deletions and "
        "rollbacks of records (POST /api/v1/metadata/records/, bulk imports) are counted "
        "here per day."
    ),
    "api": gettext_lazy(
        "No API request in the last 7 days. Requests to /api/v1/ made in this tenant (token "
        "or session) are counted here per day."
    ),
}
BUSINESS_TITLES = {
    "active_users": gettext_lazy("Active users per day"),
    "sessions": gettext_lazy("Sessions started per day"),
    "records": gettext_lazy("Metadata records written per day"),
    "api": gettext_lazy("API requests per day"),
}


def _daily_chart(key: str, data: dict) -> Chart:
    entry = data["series"].get(key, {"by_tenant": {}})
    days = data["days"]
    figure = None
    tenants = {t: d for t, d in entry["by_tenant"].items() if any(d.values())}
    if tenants:
        kind = go.Scatter if key == "active_users" else go.Bar
        extra = {"mode": "lines+markers"} if kind is go.Scatter else {}
        figure = go.Figure(
            [
                kind(
                    name=tenant,
                    x=[d.isoformat() for d in days],
                    y=[by_day.get(d, 0) for d in days],
                    hovertemplate="%{x}: %{y}<extra>" + tenant + "</extra>",
                    **extra,
                )
                for tenant, by_day in sorted(tenants.items())
            ]
        )
        styled(figure, barmode="group", showlegend=data["everyone"])
        figure.update_xaxes(type="date", dtick=DAY_MS, tickformat="%b %d")
    totals = data["totals"].get(key)
    note = ""
    if totals is not None and key == "records":
        note = _("Live records now: %(n)s") % {"n": sum(totals.values())}
    elif totals is not None and key == "sessions":
        note = _("Sessions open now: %(n)s") % {"n": sum(totals.values())}
    return chart(key, BUSINESS_TITLES[key], figure, note=note, empty=BUSINESS_EMPTY[key])


def business_charts(data: dict) -> dict[str, Chart]:
    charts = [_daily_chart(key, data) for key in BUSINESS_TITLES]
    return {c.name: c for c in charts}


# --- Operations -------------------------------------------------------------------------


def queues_chart(data: dict) -> Chart:
    queues = data["queues"]
    figure = None
    if queues:
        figure = go.Figure(
            go.Bar(
                x=list(queues),
                y=[n or 0 for n in queues.values()],
                marker_color=PRIMARY,
                hovertemplate="%{x}: %{y}<extra></extra>",
            )
        )
        styled(figure, yaxis_title=_("messages waiting"), bargap=0.4)
        figure.update_xaxes(type="category")
    note = ""
    if data["queues_at"]:
        note = _("Sampled at %(at)s") % {"at": data["queues_at"].strftime("%Y-%m-%d %H:%M:%S UTC")}
    return chart(
        "queues",
        _("Queue depths"),
        figure,
        note=note,
        empty=_(
            "No queue depth sampled yet. A Celery worker with beat samples every queue every "
            "PERFORMANCE_MONITORING_INTERVAL seconds (perf-sample-queue-depth); the depths "
            "appear here after its first run."
        ),
    )


def tasks_chart(data: dict) -> Chart:
    tasks = data["tasks"]
    figure = None
    if tasks:
        figure = go.Figure(
            [
                go.Bar(
                    name=state or "?",
                    x=[h.isoformat() for h in sorted(hours)],
                    y=[hours[h] for h in sorted(hours)],
                    width=3_600_000,
                    offset=0,
                    marker_color=STATE_COLOURS.get(state, MUTED),
                    hovertemplate="%{x}: %{y}<extra>" + (state or "?") + "</extra>",
                )
                for state, hours in sorted(tasks.items())
            ]
        )
        styled(figure, barmode="stack", yaxis_title=_("tasks"))
        figure.update_xaxes(type="date")
    return chart(
        "tasks",
        _("Celery tasks per hour, by outcome"),
        figure,
        empty=_(
            "No Celery task ran for this tenant in the last 24 hours. Tasks a worker runs for "
            "the tenant (roll-ups, alert evaluation, jobs) are counted here per hour."
        ),
    )


def _deployment_chart(name, title, deployments, empty) -> Chart:
    figure = None
    if deployments:
        labels = [d["tenant"] or d["item"].name for d in deployments]
        figure = go.Figure(
            go.Scatter(
                x=[d["item"].at.isoformat() for d in deployments],
                y=labels,
                mode="markers+text",
                text=[d["item"].version for d in deployments],
                textposition="top center",
                customdata=[d["item"].state for d in deployments],
                marker={
                    "size": 12,
                    "color": [PRIMARY if d["item"].current else MUTED for d in deployments],
                },
                hovertemplate="%{y} %{text}: %{x} (%{customdata})<extra></extra>",
            )
        )
        styled(figure, showlegend=False)
        figure.update_yaxes(type="category", rangemode="normal")
        figure.update_xaxes(type="date")
    return chart(name, title, figure, empty=empty)


def operations_charts(data: dict) -> dict[str, Chart]:
    keys = [d for d in data["deployments"] if d["item"].kind == "key"]
    models = [d for d in data["deployments"] if d["item"].kind == "model"]
    charts = [
        queues_chart(data),
        tasks_chart(data),
        _deployment_chart(
            "keys",
            _("Key versions put into service, last 30 days"),
            keys,
            _(
                "No key version yet. The tenant's key ring gets version 1 with the tenant; "
                "each rotation adds one, drawn here when it was put into service."
            ),
        ),
        _deployment_chart(
            "models",
            _("AI model deployments"),
            models,
            _("AI model deployments appear when the AI manager lands."),
        ),
    ]
    return {c.name: c for c in charts}
