"""The quotas' card on the console's operations home: the tenant's tier and each quota's
use against its limit (warning from 80 %, danger at the limit). Only for one tenant: a
platform operator's "All tenants" view has no single tier to show."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from lifecycle_mgr import quotas
from lifecycle_mgr.console import may_view
from tenancy.console_registry import Card, CardRow

WARN_AT = 80


def _tone(used, limit) -> str:
    if not limit or used is None:
        return ""
    share = 100 * used / limit
    return "danger" if share >= 100 else "warning" if share >= WARN_AT else "ok"


def quotas_card(request, tenants) -> Card | None:
    if len(tenants) != 1 or not may_view(request):
        return None
    usage = quotas.usage(tenants[0].pk)
    tier = usage[0]["tier"] if usage else ""
    link = reverse("console-lifecycle")
    if not tier:
        return Card(
            "quotas",
            _("Quotas"),
            "—",
            link=link,
            order=15,
            empty=_(
                "This tenant has no tier yet, so nothing is limited. A platform operator "
                "enrols it (Lifecycle page or POST /api/v1/lifecycle/tenants/<slug>/)."
            ),
        )
    rows = tuple(
        CardRow(
            row["quota"].replace("_", " "),
            f"{row['used'] if row['used'] is not None else '—'} / "
            f"{row['limit'] if row['limit'] is not None else '∞'}",
            tone=_tone(row["used"], row["limit"]),
        )
        for row in usage
    )
    return Card("quotas", _("Quotas"), tier, link=link, rows=rows, subtitle=_("tier"), order=15)
