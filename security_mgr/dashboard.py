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
from security_mgr.dashboard_charts import choice_label, dashboard_charts
from security_mgr.models import DataKey, KeyRing, KeyState
from security_mgr.threats import BACKOFF_ACTIONS
from tenancy.admin_base import tenant_role_at_least
from tenancy.console import console_context
from tenancy.context import get_current_tenant_id, in_platform_access
from tenancy.models import Role, Tenant

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
DAYS = 7
# The same data as the read-only security admin pages (events, audit log, key rings),
# so the same role (`audit_mgr.admin.ReadOnlyScopedAdmin.view_role`).
VIEW_ROLE = Role.ADMIN


def _key_rings(now: dt.datetime, names: dict) -> list[dict]:
    """Each tenant's own ring (subject "") with every version it holds and its age: two
    queries, whatever the number of tenants."""
    versions = defaultdict(list)
    for ring_id, version, created_at, state, algorithm in (
        DataKey.objects.filter(ring__subject="")
        .order_by("ring_id", "version")
        .values_list("ring_id", "version", "created_at", "state", "algorithm")
    ):
        age_s = max((now - created_at).total_seconds(), 0.0)
        versions[ring_id].append(
            {
                "version": version,
                "age_days": round(age_s / 86400, 6),
                "age_seconds": round(age_s, 1),
                "state": state,
                "state_label": choice_label(KeyState, state),
                "algorithm": algorithm,
            }
        )
    keys = []
    for ring in KeyRing.objects.filter(subject="").order_by("tenant_id"):
        held = versions.get(ring.pk, [])
        for v in held:
            v["current"] = v["version"] == ring.current_version
        current = next((v for v in held if v["current"]), None)
        keys.append(
            {
                "tenant": names.get(ring.tenant_id, str(ring.tenant_id)),
                "version": ring.current_version,
                "age_days": current["age_days"] if current else None,
                "algorithm": current["algorithm"] if current else "",
                "shredded": ring.shredded_at is not None,
                "versions": held,
            }
        )
    return keys


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
    keys = _key_rings(now, names)
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


def may_open_dashboard(request) -> bool:
    """The sidebar's test: staff with the admin role in the current tenant, or an
    operator (the view answers the others 404 or 403)."""
    user = request.user
    in_scope = get_current_tenant_id() is not None or (user.is_superuser and in_platform_access())
    return (
        user.is_active and user.is_staff and in_scope and tenant_role_at_least(request, VIEW_ROLE)
    )


@staff_member_required
def security_dashboard(request):
    if get_current_tenant_id() is None and not (request.user.is_superuser and in_platform_access()):
        raise Http404("choose a tenant first")
    if not tenant_role_at_least(request, VIEW_ROLE):
        raise PermissionDenied("the security dashboard needs the admin or owner role")
    scope = getattr(request.tenant, "name", None) or _("all tenants")
    data = dashboard_data()
    charts = dashboard_charts(data, DAYS)
    return render(
        request,
        "security/dashboard.html",
        {
            **console_context(request, _("Security — %s") % scope),
            "charts": charts,
            "any_chart": any(not c.is_empty for c in charts.values()),
            "data": data,
            "days": DAYS,
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
