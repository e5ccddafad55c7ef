"""The security dashboard's charts, from `dashboard.dashboard_data`: each one a Plotly
figure, or its empty state when there is nothing to draw (tenancy/console_charts.py)."""

from __future__ import annotations

import datetime as dt

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from audit_mgr.security_events import EventType, Severity
from tenancy.console_cards import duration
from tenancy.console_charts import MUTED, PRIMARY, Chart, chart, styled

HOUR_MS = 3_600_000
SEVERITY_COLOURS = {
    Severity.LOW: "#64748b",
    Severity.MEDIUM: "#d97706",
    Severity.HIGH: "#ea580c",
    Severity.CRITICAL: "#dc2626",
}
MAX_RINGS = 20  # all tenants: the rings with the oldest current keys
MAX_VERSIONS = 12  # per ring, the newest


def choice_label(choices, value: str) -> str:
    """A choice's label for people (its value when the choice is unknown)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def events_chart(data: dict, days: int) -> Chart:
    figure = None
    if data["events_by_type"]:
        # Each bar covers its hour, on an axis spanning the whole window: left to itself,
        # Plotly stretches a lone bar over the axis and labels it in fractions of a second.
        figure = go.Figure(
            [
                go.Bar(
                    name=choice_label(EventType, t),
                    x=list(s),
                    y=list(s.values()),
                    width=HOUR_MS,
                    offset=0,
                )
                for t, s in data["events_by_type"].items()
            ]
        )
        first_hour = data["since"].replace(minute=0, second=0, microsecond=0)
        end = data["until"].replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        figure.update_xaxes(type="date", range=[first_hour.isoformat(), end.isoformat()])
        styled(figure, barmode="stack", yaxis_title=_("events"))
    return chart(
        "events",
        _("Security events per hour, last %(days)s days") % {"days": days},
        figure,
        empty=_(
            "No security event in the last %(days)s days. Failed sign-ins that add up to "
            "brute force or credential stuffing, forged or foreign tokens and session "
            "anomalies appear here hour by hour as they are detected."
        )
        % {"days": days},
    )


def severity_chart(data: dict) -> Chart:
    figure = None
    if any(data["severity"].values()):
        order = list(Severity)
        figure = go.Figure(
            go.Bar(
                x=[str(s.label) for s in order],
                y=[data["severity"].get(s.value, 0) for s in order],
                marker_color=[SEVERITY_COLOURS[s] for s in order],
                hovertemplate="%{x}: %{y}<extra></extra>",
            )
        )
        styled(figure, yaxis_title=_("events"), bargap=0.4)
    return chart(
        "severity",
        _("Events by severity"),
        figure,
        empty=_(
            "No security event to rate. Each detected threat is counted here by its "
            "severity, from low to critical, as it is recorded."
        ),
    )


def sources_chart(data: dict, days: int) -> Chart:
    figure = None
    sources = data["top_sources"]
    if sources:
        figure = go.Figure(
            go.Bar(
                x=[n for _s, n in sources],
                y=[s for s, _n in sources],
                orientation="h",
                marker_color=PRIMARY,
                hovertemplate="%{y}: %{x}<extra></extra>",
            )
        )
        styled(figure, xaxis_title=_("events"))
        figure.update_yaxes(autorange="reversed", rangemode="normal")
    return chart(
        "sources",
        _("Top sources"),
        figure,
        note=_("Back-offs (an account or a source slowed down): %(n)s") % {"n": data["lockouts"]},
        empty=_(
            "No event named a source in the last %(days)s days. The addresses behind failed "
            "sign-ins and refused tokens are ranked here once threat detection records them."
        )
        % {"days": days},
    )


def _unit(max_seconds: float) -> tuple[str, float]:
    """The unit that makes the oldest key's bar a readable number (seconds per unit): a
    fresh install's keys are minutes old, which in days would be bars of height 0."""
    for name, seconds in ((_("days"), 86400.0), (_("hours"), 3600.0), (_("minutes"), 60.0)):
        if max_seconds >= 2 * seconds:
            return name, seconds
    return _("seconds"), 1.0


def keys_chart(data: dict) -> Chart:
    rings = [k for k in data["keys"] if k["versions"]]
    note = _("Age of each version of each tenant's key ring; the current version is highlighted.")
    if len(rings) > MAX_RINGS:
        rings = sorted(rings, key=lambda k: k["age_days"] or 0, reverse=True)[:MAX_RINGS]
        rings.sort(key=lambda k: k["tenant"])
        note = _(
            "The %(n)s key rings with the oldest current keys, of %(total)s; "
            "the current version is highlighted."
        ) % {"n": MAX_RINGS, "total": len(data["keys"])}
    figure = None
    if rings:
        several = len(rings) > 1
        bars = [
            (f"{ring['tenant']} · v{v['version']}" if several else f"v{v['version']}", v)
            for ring in rings
            for v in ring["versions"][-MAX_VERSIONS:]
        ]
        unit, per = _unit(max(v["age_seconds"] for _l, v in bars))

        def trace(name, current, colour):
            chosen = [(label, v) for label, v in bars if v["current"] is current]
            return go.Bar(
                name=name,
                x=[label for label, _v in chosen],
                y=[round(v["age_seconds"] / per, 2) for _l, v in chosen],
                text=[duration(dt.timedelta(seconds=v["age_seconds"])) for _l, v in chosen],
                textposition="outside",
                customdata=[[v["state_label"], v["algorithm"]] for _l, v in chosen],
                hovertemplate="%{x}: %{text} (%{customdata[0]}, %{customdata[1]})<extra></extra>",
                marker_color=colour,
                cliponaxis=False,
            )

        traces = [trace(_("current version"), True, PRIMARY)]
        if any(not v["current"] for _l, v in bars):
            traces.insert(0, trace(_("earlier versions"), False, MUTED))
        figure = go.Figure(traces)
        styled(
            figure,
            barmode="overlay",
            bargap=0.4,
            yaxis_title=_("age (%(unit)s)") % {"unit": unit},
        )
        figure.update_xaxes(
            type="category", categoryorder="array", categoryarray=[label for label, _v in bars]
        )
    return chart(
        "keys",
        _("Key versions and ages"),
        figure,
        note=note,
        empty=_(
            "No key ring yet. Each tenant's key ring (version 1) is created with the tenant; "
            "rotating its key (POST /api/v1/security/keys/rotate/, or a rotation period) "
            "adds versions, drawn here with their ages."
        ),
    )


def audit_chart(data: dict) -> Chart:
    figure = None
    sizes = data["audit_sizes"]
    if any(sizes.values()):
        figure = go.Figure(
            go.Bar(
                x=list(sizes),
                y=list(sizes.values()),
                marker_color=PRIMARY,
                hovertemplate="%{x}: %{y}<extra></extra>",
            )
        )
        styled(figure, yaxis_title=_("entries"), bargap=0.4)
        figure.update_xaxes(type="category")
    return chart(
        "audit",
        _("Audit log size (entries)"),
        figure,
        empty=_(
            "No audit entry yet. Changes made through the managers (sessions, keys, "
            "settings, memberships) are appended as they commit, and counted here per log."
        ),
    )


def dashboard_charts(data: dict, days: int) -> dict[str, Chart]:
    charts = [
        events_chart(data, days),
        severity_chart(data),
        sources_chart(data, days),
        keys_chart(data),
        audit_chart(data),
    ]
    return {c.name: c for c in charts}
