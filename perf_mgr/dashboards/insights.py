"""The performance dashboard's insights (issue 15): the anomalies of the last day with
their evidence, and the request-rate forecast with its band. Data and figures together
(small); read only, each tenant in its own context."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from ai_mgr import forecasting
from perf_mgr import forecasts, query
from perf_mgr.models import MetricAnomaly
from tenancy.console_charts import MUTED, PRIMARY, Chart, chart, styled
from tenancy.context import tenant_context

REQUESTS = "http_request_duration_seconds"
ANOMALY = "#dc2626"
BAND = "rgba(147, 51, 234, 0.15)"
HISTORY_SHOWN_H = 48


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def insights_data(tenants: list, everyone: bool, since: dt.datetime) -> dict:
    """Anomalies since `since` (every tenant shown) and, for one tenant, its forecast."""
    found, forecast, forecast_error = [], None, ""
    for tenant in tenants:
        with tenant_context(tenant):
            prefix = f"{tenant.slug}: " if everyone else ""
            for a in MetricAnomaly.objects.filter(observed_at__gte=since)[:200]:
                found.append({"metric": f"{prefix}{a.metric}", "row": a})
            if len(tenants) == 1:
                try:
                    forecast = forecasts.metric_forecast(REQUESTS, stat="rate", horizon=24)
                except (forecasting.ForecastError, query.QueryError) as exc:
                    forecast_error = getattr(exc, "message", str(exc))
    found.sort(key=lambda f: f["row"].observed_at, reverse=True)
    return {"anomalies": found, "forecast": forecast, "forecast_error": forecast_error}


def anomalies_chart(data: dict) -> Chart:
    rows = data["insights"]["anomalies"]
    figure = None
    if rows:
        by_metric: dict[str, list] = {}
        for item in rows:
            by_metric.setdefault(item["metric"], []).append(item["row"])
        figure = go.Figure(
            [
                go.Scatter(
                    name=metric,
                    x=[a.observed_at.isoformat() for a in items],
                    y=[round(a.score, 4) for a in items],
                    mode="markers",
                    marker={"size": 10, "symbol": "diamond"},
                    text=[
                        f"{a.observed:.4g} (expected {a.lower:.4g} to {a.upper:.4g})" for a in items
                    ],
                    hovertemplate="%{x}: %{text}<extra>" + metric + "</extra>",
                )
                for metric, items in sorted(by_metric.items())
            ]
        )
        styled(figure, yaxis_title=_("anomaly score"))
        figure.update_yaxes(range=[0, 1.02])
        figure.update_xaxes(
            type="date", range=[data["since"].isoformat(), data["until"].isoformat()]
        )
    return chart(
        "anomalies",
        _("Anomalies, last 24 hours"),
        figure,
        note=_("Each point: a metric outside its expected band for that hour of the week."),
        empty=_(
            "No anomaly in the last 24 hours. Every 5 minutes each metric of this tenant is "
            "compared with the same hour of the week over the previous weeks; values outside "
            "that band are drawn here with their expected range."
        ),
    )


def forecast_chart(data: dict) -> Chart:
    fc = data["insights"]["forecast"]
    figure = None
    note = ""
    if fc is not None:
        history = fc["history"][-HISTORY_SHOWN_H:]
        points = fc["forecast"]["points"]
        x_future = [_at(p["at"]).isoformat() for p in points]
        per_min = 60.0
        figure = go.Figure(
            [
                go.Scatter(
                    name=_("upper"),
                    x=x_future,
                    y=[round(max(p["upper"], 0) * per_min, 3) for p in points],
                    mode="lines",
                    line={"width": 0},
                    showlegend=False,
                    hoverinfo="skip",
                ),
                go.Scatter(
                    name=_("95% interval"),
                    x=x_future,
                    y=[round(max(p["lower"], 0) * per_min, 3) for p in points],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=BAND,
                    hoverinfo="skip",
                ),
                go.Scatter(
                    name=_("observed"),
                    x=[_at(h["at"]).isoformat() for h in history],
                    y=[round(h["value"] * per_min, 3) for h in history],
                    mode="lines",
                    line={"color": PRIMARY, "width": 2},
                    hovertemplate="%{x}: %{y}/min<extra></extra>",
                ),
                go.Scatter(
                    name=_("forecast"),
                    x=x_future,
                    y=[round(p["mean"] * per_min, 3) for p in points],
                    mode="lines",
                    line={"color": MUTED, "width": 2, "dash": "dash"},
                    hovertemplate="%{x}: %{y}/min<extra></extra>",
                ),
            ]
        )
        styled(figure, yaxis_title=_("requests per minute"))
        figure.update_xaxes(type="date")
        backtest = fc["backtest"]
        if backtest.get("mape") is not None:
            note = _(
                "%(method)s forecast; backtest accuracy %(accuracy).0f%% (target %(target).0f%%)."
            ) % {
                "method": fc["forecast"]["method"],
                "accuracy": 100 * backtest["accuracy"],
                "target": 100 * backtest["target"],
            }
    return chart(
        "forecast",
        _("Request rate: the last two days and the next day's forecast"),
        figure,
        note=note,
        empty=_(
            "No forecast yet: it needs at least 8 hours of requests in one tenant "
            "(two days for the daily cycle). The band is the forecast's 95% interval."
        ),
    )
