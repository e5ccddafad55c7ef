"""The security dashboard of the console, drawn with Plotly.

Tenant staff see their tenant only (the page runs in their tenant context, so every
query is scoped), and only with the role the security admin pages ask for; platform
operators without a chosen tenant see every tenant, through the audited escape hatch
the console already opened for them."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path

import plotly
import plotly.graph_objects as go
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncHour
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_mgr.logs import micros
from audit_mgr.models import (
    AuditEntry,
    AuditLogHead,
    PendingAuditEntry,
    SecurityEvent,
    SignedTreeHead,
)
from security_mgr.models import DataKey, KeyRing
from security_mgr.threats import BACKOFF_ACTIONS
from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.context import get_current_tenant_id, in_platform_access
from tenancy.models import Role, Tenant

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
DAYS = 7
HOUR_MS = 3_600_000
# The same data as the read-only security admin pages (events, audit log, key rings),
# so the same role (`audit_mgr.admin.ReadOnlyScopedAdmin.view_role`).
VIEW_ROLE = Role.ADMIN


def dashboard_data(now: dt.datetime | None = None) -> dict:
    """Everything the page draws, as plain data (tested on its own)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=DAYS)
    events = SecurityEvent.objects.filter(created_at__gte=since)
    by_hour_type = defaultdict(Counter)
    for row in (
        events.annotate(hour=TruncHour("created_at"))
        .values("hour", "type")
        .annotate(n=Count("pk"))
        .order_by("hour")
    ):
        by_hour_type[row["type"]][row["hour"].isoformat()] += row["n"]
    severity = dict(events.values_list("severity").annotate(n=Count("pk")).order_by())
    sources = list(
        events.exclude(source="")
        .values_list("source")
        .annotate(n=Count("pk"))
        .order_by("-n", "source")[:10]
    )
    # Every back-off: an account refused from one source, a source's failed sign-ins
    # or refused tokens slowed down (security_mgr/threats.py ACTIONS).
    lockouts = events.filter(action__in=BACKOFF_ACTIONS).count()
    names = dict(Tenant.objects.values_list("pk", "slug"))
    keys = []
    for ring in KeyRing.objects.filter(subject="").order_by("tenant_id"):
        current = (
            DataKey.objects.filter(ring=ring, version=ring.current_version)
            .values_list("created_at", "algorithm")
            .first()
        )
        keys.append(
            {
                "tenant": names.get(ring.tenant_id, str(ring.tenant_id)),
                "version": ring.current_version,
                "age_days": round((now - current[0]).total_seconds() / 86400, 2)
                if current
                else None,
                "algorithm": current[1] if current else "",
                "shredded": ring.shredded_at is not None,
            }
        )
    sizes = {
        names.get(t, str(t)): s for t, s in AuditLogHead.objects.values_list("tenant_id", "size")
    }
    pending = {}
    now_us = micros(now)
    for tenant_id, count, oldest_us in (
        PendingAuditEntry.objects.values("tenant_id")
        .annotate(n=Count("pk"), oldest=Min("at_us"))
        .values_list("tenant_id", "n", "oldest")
    ):
        name = names.get(tenant_id, str(tenant_id))
        sizes.setdefault(name, 0)
        # Entries waiting for the sequencer: normally a handful, for well under a
        # second; an old one means the sequencer is not running (README, audit log).
        pending[name] = {
            "count": count,
            "oldest_age_s": round(max((now_us - oldest_us) / 1e6, 0.0), 1),
        }
    heads = {
        names.get(t, str(t)): (at, size)
        for t, at, size in SignedTreeHead.objects.values("tenant_id")
        .annotate(at=Max("signed_at"), size=Max("tree_size"))
        .values_list("tenant_id", "at", "size")
    }
    verified = {}
    for tenant_id, data in (
        AuditEntry.objects.filter(event="audit.verified")
        .order_by("tenant_id", "-seq")
        .values_list("tenant_id", "data")
    ):
        name = names.get(tenant_id, str(tenant_id))
        if name not in verified:
            verified[name] = json.loads(data)
    return {
        "since": since,
        "until": now,
        "events_by_type": {t: dict(c) for t, c in by_hour_type.items()},
        "severity": severity,
        "top_sources": sources,
        "lockouts": lockouts,
        "keys": keys,
        "audit_sizes": sizes,
        "audit_pending": pending,
        "last_heads": {k: {"signed_at": v[0], "tree_size": v[1]} for k, v in heads.items()},
        "last_verification": {
            k: {
                "at_us": v["at_us"],
                "at": dt.datetime.fromtimestamp(v["at_us"] / 1e6, tz=dt.UTC),
                "ok": v["payload"].get("ok"),
                "entries": v["payload"].get("entries"),
            }
            for k, v in verified.items()
        },
    }


def _audit_rows(data: dict) -> list[dict]:
    """One table row per log: its size, pending entries, last head and verification."""
    return [
        {
            "log": name,
            "size": size,
            "pending": data["audit_pending"].get(name, {"count": 0, "oldest_age_s": 0.0}),
            "head": data["last_heads"].get(name),
            "verified": data["last_verification"].get(name),
        }
        for name, size in data["audit_sizes"].items()
    ]


def _figures(data: dict) -> list[tuple[str, go.Figure]]:
    # Each bar covers its hour, on an axis spanning the whole window: left to itself,
    # Plotly stretches a lone bar over the axis and labels it in fractions of a second.
    events = go.Figure(
        [
            go.Bar(name=t, x=list(s), y=list(s.values()), width=HOUR_MS, offset=0)
            for t, s in data["events_by_type"].items()
        ]
    )
    events.update_layout(barmode="stack", title=f"Security events per hour, last {DAYS} days")
    first_hour = data["since"].replace(minute=0, second=0, microsecond=0)
    end_of_hour = data["until"].replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    events.update_xaxes(type="date", range=[first_hour.isoformat(), end_of_hour.isoformat()])
    severity = go.Figure(go.Bar(x=list(data["severity"]), y=list(data["severity"].values())))
    severity.update_layout(title="Events by severity")
    sources = go.Figure(
        go.Bar(
            x=[n for _s, n in data["top_sources"]],
            y=[s for s, _n in data["top_sources"]],
            orientation="h",
        )
    )
    sources.update_layout(title=f"Top sources (lockouts: {data['lockouts']})")
    keys = go.Figure(
        [
            go.Bar(
                name="current version",
                x=[k["tenant"] for k in data["keys"]],
                y=[k["version"] for k in data["keys"]],
            ),
            go.Bar(
                name="age of current key (days)",
                x=[k["tenant"] for k in data["keys"]],
                y=[k["age_days"] for k in data["keys"]],
            ),
        ]
    )
    keys.update_layout(title="Key versions and ages", barmode="group")
    audit = go.Figure(go.Bar(x=list(data["audit_sizes"]), y=list(data["audit_sizes"].values())))
    audit.update_layout(title="Audit log size (entries)")
    return [
        ("events", events),
        ("severity", severity),
        ("sources", sources),
        ("keys", keys),
        ("audit", audit),
    ]


@staff_member_required
def security_dashboard(request):
    if get_current_tenant_id() is None and not (request.user.is_superuser and in_platform_access()):
        raise Http404("choose a tenant first")
    if not tenant_role_at_least(request, VIEW_ROLE):
        raise PermissionDenied("the security dashboard needs the admin or owner role")
    scope = getattr(request.tenant, "name", None) or _("all tenants")
    data = dashboard_data()
    charts = [
        {
            "id": name,
            "html": fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{name}"),
        }
        for name, fig in _figures(data)
    ]
    return render(
        request,
        "security/dashboard.html",
        {
            **console_context(request, _("Security — %s") % scope),
            "charts": charts,
            "data": data,
            "audit_rows": _audit_rows(data),
            "scope": scope,
        },
    )


def plotly_js(request):
    """Plotly's own bundle, served from the installed package (no CDN)."""
    if not PLOTLY_JS.exists():
        raise Http404
    response = FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "public, max-age=86400"
    return response
