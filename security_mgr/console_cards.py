"""The security manager's card on the console's operations home: each tenant's own key
ring with its current version, how many versions it holds and the age of the current
key (one grouped query, in the request's tenant context or under the operator's
platform access)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from security_mgr.models import DataKey, KeyRing
from tenancy.console_cards import changelist_url, duration, may_view, tenant_names
from tenancy.console_registry import Card, CardRow

ROWS_FOR_ALL = 6  # "all tenants": the rings with the oldest current keys first


def tenant_key_rings(now: dt.datetime | None = None) -> list[dict]:
    """Every tenant ring (subject "") in context: its version, versions held, the age of
    its current key and whether a rotation is overdue."""
    now = now or timezone.now()
    current_at = DataKey.objects.filter(
        ring=OuterRef("pk"), version=OuterRef("current_version")
    ).values("created_at")[:1]
    rings = []
    for pk, tenant_id, version, versions, created, period, shredded in (
        KeyRing.objects.filter(subject="")
        .annotate(n=Count("versions"), current_at=Subquery(current_at))
        .values_list(
            "pk",
            "tenant_id",
            "current_version",
            "n",
            "current_at",
            "rotation_period_days",
            "shredded_at",
        )
        .order_by("tenant_id")
    ):
        age = now - created if created is not None else None
        rings.append(
            {
                "pk": pk,
                "tenant_id": tenant_id,
                "version": version,
                "versions": versions,
                "age": age,
                "rotation_period_days": period,
                "shredded": shredded is not None,
                "overdue": bool(period and age and age > dt.timedelta(days=period)),
            }
        )
    return rings


def _summary(ring: dict) -> str:
    if ring["shredded"]:
        return _("shredded")
    versions = ngettext("%(n)s version", "%(n)s versions", ring["versions"]) % {
        "n": ring["versions"]
    }
    age = duration(ring["age"]) if ring["age"] is not None else "?"
    return _("v%(version)s · %(versions)s · %(age)s old") % {
        "version": ring["version"],
        "versions": versions,
        "age": age,
    }


def _tone(ring: dict) -> str:
    return "danger" if ring["shredded"] else "warning" if ring["overdue"] else ""


def key_rings_card(request, tenants) -> Card | None:
    if not may_view(request, KeyRing):
        return None
    rings = tenant_key_rings()
    title, link = _("Key versions and ages"), changelist_url(KeyRing)
    if not rings:
        return Card(
            "key_rings",
            title,
            0,
            link=link,
            empty=_(
                "No key ring yet. Each tenant's key ring (version 1) is created with the "
                "tenant; rotating its key (POST /api/v1/security/keys/rotate/, or a rotation "
                "period) adds versions."
            ),
        )
    if len(tenants) == 1:
        [ring] = rings
        period = ring["rotation_period_days"]
        return Card(
            "key_rings",
            title,
            _("shredded") if ring["shredded"] else f"v{ring['version']}",
            link=link,
            subtitle=_("current version of the tenant's key ring"),
            rows=(
                CardRow(_("Versions held"), ring["versions"]),
                CardRow(
                    _("Age of the current key"),
                    duration(ring["age"]) if ring["age"] is not None else "?",
                    tone=_tone(ring),
                ),
                CardRow(
                    _("Rotation period"),
                    ngettext("%(n)s day", "%(n)s days", period) % {"n": period}
                    if period
                    else _("none (rotated on request)"),
                ),
            ),
        )
    names = tenant_names(tenants)
    oldest_first = sorted(rings, key=lambda r: r["age"] or dt.timedelta(0), reverse=True)
    rows = [
        CardRow(
            names.get(ring["tenant_id"], str(ring["tenant_id"])),
            _summary(ring),
            link=reverse("admin:security_mgr_keyring_change", args=[ring["pk"]]),
            tone=_tone(ring),
        )
        for ring in oldest_first[:ROWS_FOR_ALL]
    ]
    if len(rings) > ROWS_FOR_ALL:
        rows.append(CardRow(_("%(n)s more") % {"n": len(rings) - ROWS_FOR_ALL}, "", link=link))
    return Card(
        "key_rings",
        title,
        len(rings),
        link=link,
        subtitle=_("tenant key rings, the oldest current keys first"),
        rows=tuple(rows),
    )
