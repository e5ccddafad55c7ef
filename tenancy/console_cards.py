"""The operations home's KPI cards: whose data they cover, which cards a user gets, and
the helpers the managers' card providers share (tenancy.console_registry holds them).

A card covers the tenant the console request runs in, or every tenant for a platform
operator who chose "All tenants" (the request then runs under the audited platform
access that the tenant middleware opened). A user of several tenants who has not chosen
gets no card at all: there is no tenant whose figures could be shown.

Providers read through the scoped managers, so the request's context scopes every
query: in a tenant, that tenant's rows; under the platform access, every tenant's.
A card is offered to whoever may open its details: `may_view(request, Model)` asks the
model's admin, which applies the same role rules as the changelist the card links to.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from tenancy import console_registry as registry
from tenancy.context import in_platform_access
from tenancy.models import Tenant


def card_tenants(request) -> list | None:
    """The tenants the home's cards cover for this request, or None for no cards."""
    tenant = getattr(request, "tenant", None)
    if tenant is not None:
        return [tenant]
    if request.user.is_superuser and in_platform_access():
        return list(Tenant.objects.order_by("slug"))
    return None


def cards_for(request, tenants: list) -> list[registry.Card]:
    cards = []
    for _key, provider in registry.card_providers():
        card = provider(request, tenants)
        if card is not None:
            cards.append(card)
    return sorted(cards, key=lambda c: c.order)


def may_view(request, model) -> bool:
    """May this user open `model`'s changelist in the console (staff, and the role its
    admin asks for in the current tenant)? Cards and their links follow this."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return False
    model_admin = admin.site._registry.get(model)
    return model_admin is not None and model_admin.has_view_permission(request)


def changelist_url(model, **params) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def duration(span: dt.timedelta) -> str:
    """'3 hours', in the user's language ('under a minute' below one)."""
    if span < dt.timedelta(minutes=1):
        return _("under a minute")
    now = dt.datetime.now(dt.UTC)
    return timesince(now - span, now, depth=1)


def ago(moment: dt.datetime | None, now: dt.datetime) -> str:
    """'3 hours ago', in the user's language ('never' for no moment)."""
    if moment is None:
        return _("never")
    return _("%(age)s ago") % {"age": duration(now - moment)}


def tenant_names(tenants: list) -> dict[int, str]:
    """Tenant id -> the name a card shows for it (the slug: short and unique)."""
    return {t.pk: t.slug for t in tenants}
