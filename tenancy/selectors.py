"""Reads of the tenancy domain used by the console and the managers facade."""

from __future__ import annotations

from django.db.models import Count
from django.utils.text import capfirst

from tenancy.context import platform_access, tenant_context
from tenancy.models import Membership, Tenant, scoped_models


def tenants_for_user(user):
    if user.is_superuser:
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user).distinct()


def model_names(models) -> dict:
    """Each model's name for people: its plural verbose name, capitalised ("Tenant
    settings"), with the app's name added where two models share one."""
    names = {m: str(capfirst(m._meta.verbose_name_plural)) for m in models}
    taken = list(names.values())
    return {
        m: f"{n} ({m._meta.app_config.verbose_name})" if taken.count(n) > 1 else n
        for m, n in names.items()
    }


def tenant_overview(tenants, *, actor: str | None = None) -> list[dict]:
    """Each tenant with its real member count and row count per scoped model, keyed by
    the model's name for people (`model_names`); `counts` lists the non-zero ones,
    largest first.

    With several tenants this runs one grouped query per model under the platform
    escape hatch (recorded); with one tenant, plain counts inside its context."""
    tenants = list(tenants)
    members = dict(
        Membership.objects.filter(tenant__in=tenants)
        .values("tenant")
        .annotate(n=Count("id"))
        .values_list("tenant", "n")
    )
    models = scoped_models()
    rows: dict[int, dict[str, int]] = {t.pk: {} for t in tenants}
    if len(tenants) == 1:
        with tenant_context(tenants[0]):
            for model in models:
                rows[tenants[0].pk][model._meta.label] = model.objects.count()
    elif tenants:
        with platform_access("console overview: row counts per tenant", actor=actor):
            for model in models:
                counts = (
                    model.objects.filter(tenant__in=tenants)
                    .values("tenant")
                    .annotate(n=Count("pk"))
                    .values_list("tenant", "n")
                )
                for tenant_id, n in counts:
                    rows[tenant_id][model._meta.label] = n
    names = model_names(models)
    overview = []
    for t in tenants:
        by_name = {names[m]: rows[t.pk].get(m._meta.label, 0) for m in models}
        overview.append(
            {
                "tenant": t,
                "members": members.get(t.pk, 0),
                "rows": by_name,
                "counts": sorted(
                    ((n, c) for n, c in by_name.items() if c), key=lambda nc: (-nc[1], nc[0])
                ),
                "total_rows": sum(rows[t.pk].values()),
            }
        )
    return overview


def get_tenant_setting(key: str, default=None):
    """The current tenant's value for `key` (managers read their policies here)."""
    from tenancy.models import TenantSetting

    value = TenantSetting.objects.filter(key=key).values_list("value", flat=True).first()
    return default if value is None else value


def daily_counts(queryset, field: str) -> dict:
    """{UTC date: rows} of `queryset` by the day of its datetime `field`, in one
    aggregate query (the dashboards' per-day activity)."""
    import datetime as dt

    from django.db.models.functions import TruncDate

    return {
        row["day"]: row["n"]
        for row in queryset.annotate(day=TruncDate(field, tzinfo=dt.UTC))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    }
