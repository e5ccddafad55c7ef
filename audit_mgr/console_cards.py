"""The audit log's cards on the console's operations home: security events of the last
24 hours by severity, and the state of the log (entries, entries waiting for the
sequencer, the last signed tree head). Aggregate queries only, in the request's tenant
context or under the operator's platform access (every tenant's log)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from audit_mgr.logs import micros
from audit_mgr.models import AuditEntry, AuditLogHead, PendingAuditEntry, SignedTreeHead
from audit_mgr.security_events import SecurityEvent, Severity
from tenancy.console_cards import ago, changelist_url, duration, may_view, tenant_names
from tenancy.console_registry import Card, CardRow

WINDOW = dt.timedelta(hours=24)
# The sweep sequences what is pending every minute: an entry older than this means
# neither the sequencer nor the sweep is running.
PENDING_LATE = dt.timedelta(minutes=5)
SEVERITY_TONE = {Severity.CRITICAL: "danger", Severity.HIGH: "warning"}


def events_by_severity(now: dt.datetime | None = None) -> dict[str, int]:
    since = (now or timezone.now()) - WINDOW
    counts = dict(
        SecurityEvent.objects.filter(created_at__gte=since)
        .values_list("severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {s.value: counts.get(s.value, 0) for s in reversed(Severity)}


def security_events_card(request, tenants) -> Card | None:
    if not may_view(request, SecurityEvent):
        return None
    counts = events_by_severity()
    title, link = _("Security events, last 24 h"), changelist_url(SecurityEvent)
    total = sum(counts.values())
    if not total:
        return Card(
            "security_events",
            title,
            0,
            link=link,
            empty=_(
                "No security event in the last 24 hours. Brute force, credential stuffing, "
                "forged tokens and session anomalies appear here by severity as threat "
                "detection and the session manager record them."
            ),
        )
    return Card(
        "security_events",
        title,
        total,
        link=link,
        subtitle=_("events"),
        rows=tuple(
            CardRow(
                Severity(severity).label,
                n,
                link=changelist_url(SecurityEvent, severity__exact=severity),
                tone=SEVERITY_TONE.get(severity, "") if n else "",
            )
            for severity, n in counts.items()
        ),
    )


def audit_figures(now: dt.datetime | None = None) -> dict:
    """Entries, pending entries (with the oldest one's age) and, per log, the last
    signed head against the log's size."""
    now = now or timezone.now()
    sizes = dict(AuditLogHead.objects.values_list("tenant_id", "size"))
    pending = PendingAuditEntry.objects.aggregate(n=Count("pk"), oldest=Min("at_us"))
    heads = {
        tenant_id: (at, size)
        for tenant_id, at, size in SignedTreeHead.objects.values("tenant_id")
        .annotate(at=Max("signed_at"), size=Max("tree_size"))
        .values_list("tenant_id", "at", "size")
        .order_by()
    }
    oldest_s = (micros(now) - pending["oldest"]) / 1e6 if pending["oldest"] is not None else None
    return {
        "entries": sum(sizes.values()),
        "pending": pending["n"],
        "pending_oldest": dt.timedelta(seconds=max(oldest_s, 0)) if oldest_s is not None else None,
        "sizes": sizes,
        "heads": heads,
        "unsigned": sum(size - heads.get(t, (None, 0))[1] for t, size in sizes.items()),
    }


def _stalest_head(figures: dict) -> tuple[int | None, dt.datetime | None]:
    """The log (with entries) whose last signed head is the oldest: (tenant id, when);
    a log with entries and no head at all comes first, with None."""
    stalest = (None, None)
    for tenant_id, size in sorted(figures["sizes"].items()):
        if not size:
            continue
        at = figures["heads"].get(tenant_id, (None, 0))[0]
        if at is None:
            return tenant_id, None
        if stalest[1] is None or at < stalest[1]:
            stalest = (tenant_id, at)
    return stalest


def audit_log_card(request, tenants) -> Card | None:
    if not may_view(request, AuditEntry):
        return None
    now = timezone.now()
    figures = audit_figures(now)
    title, link = _("Audit log"), changelist_url(AuditEntry)
    if not (figures["entries"] or figures["pending"]):
        return Card(
            "audit_log",
            title,
            0,
            link=link,
            empty=_(
                "The audit log is empty. Changes made through the managers (sessions, keys, "
                "settings, memberships) are appended here as they commit; a signed tree "
                "head follows within a minute."
            ),
        )
    late_head = dt.timedelta(seconds=max(5 * settings.SECURITY_TREE_HEAD_INTERVAL, 300))
    pending_value = str(figures["pending"])
    if figures["pending_oldest"] is not None:
        pending_value = _("%(count)s, oldest %(age)s") % {
            "count": figures["pending"],
            "age": duration(figures["pending_oldest"]),
        }
    tenant_id, signed_at = _stalest_head(figures)
    head_value = ago(signed_at, now)
    head_label = _("Last signed head")
    if len(tenants) > 1 and tenant_id is not None:
        head_label = _("Stalest signed head")
        head_value = f"{tenant_names(tenants).get(tenant_id, tenant_id)}: {head_value}"
    stale = figures["unsigned"] > 0 and (signed_at is None or now - signed_at > late_head)
    late = figures["pending_oldest"] is not None and figures["pending_oldest"] > PENDING_LATE
    return Card(
        "audit_log",
        title,
        figures["entries"],
        link=link,
        subtitle=_("entries"),
        rows=(
            CardRow(_("Entries"), figures["entries"], link=link),
            CardRow(_("Pending"), pending_value, tone="warning" if late else ""),
            CardRow(
                head_label,
                head_value,
                link=changelist_url(SignedTreeHead),
                tone="warning" if stale else "",
            ),
            CardRow(_("Entries after the last signed head"), figures["unsigned"]),
        ),
    )
