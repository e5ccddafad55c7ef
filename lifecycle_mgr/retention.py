"""Retention purges per data kind (issue 16: "Retention purges run on Celery beat per
data kind, in batches, and report what they removed").

A tenant-scoped model takes part by declaring `retention = "<kind>"` and
`retention_field = "<datetime field>"` (the kinds: models.RETENTION_KINDS). In the
tenant's context, `purge_kind()` deletes the rows whose field is older than the tier's
days for the kind, `BATCH` rows per transaction (short locks, and a purge stopped half
way keeps what it did), and appends one `lifecycle.retention_purged` entry to the
tenant's log with the count per model. Nothing is purged for a tenant without a tier
rule for the kind, or under legal hold (a hold blocks every purge)."""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from audit_mgr.actions import record_event
from lifecycle_mgr.holds import active_hold
from lifecycle_mgr.models import RETENTION_KINDS, TenantLifecycle
from tenancy.context import require_tenant_id
from tenancy.models import is_tenant_scoped

BATCH = 1000


def models_of(kind: str) -> list[type]:
    return [
        model
        for model in apps.get_models()
        if getattr(model, "retention", None) == kind and is_tenant_scoped(model)
    ]


def declared_kinds() -> dict[str, list[str]]:
    """Every kind some model declares, with its models' labels (for the console)."""
    found: dict[str, list[str]] = {}
    for model in apps.get_models():
        kind = getattr(model, "retention", None)
        if kind:
            found.setdefault(kind, []).append(model._meta.label)
    return found


def _delete_batches(model, before: dt.datetime, batch: int) -> int:
    field = model.retention_field
    expired = model.objects.filter(**{f"{field}__lt": before}).order_by("pk")
    removed = 0
    while True:
        with transaction.atomic():
            ids = list(expired.values_list("pk", flat=True)[:batch])
            if not ids:
                return removed
            model.objects.filter(pk__in=ids).delete()
            removed += len(ids)


def purge_kind(kind: str, *, now: dt.datetime | None = None, batch: int = BATCH) -> dict:
    """Purge `kind` in the tenant in context; returns the report (also audited)."""
    if kind not in RETENTION_KINDS:
        raise ValueError(f"unknown data kind {kind!r}; one of {', '.join(RETENTION_KINDS)}")
    tenant_id = require_tenant_id("a retention purge")
    row = TenantLifecycle.objects.select_related("policy").filter(tenant_id=tenant_id).first()
    days = row.policy.retention_days.get(kind) if row is not None else None
    if not days:
        return {"kind": kind, "skipped": "no retention rule for this kind"}
    hold = active_hold(tenant_id)
    if hold is not None:
        return {"kind": kind, "skipped": f"legal hold {hold.pk}"}
    before = (now or timezone.now()) - dt.timedelta(days=days)
    removed = {m._meta.label: _delete_batches(m, before, batch) for m in models_of(kind)}
    report = {"kind": kind, "days": days, "before": before.isoformat(), "removed": removed}
    if any(removed.values()):
        record_event("lifecycle.retention_purged", report, actor="system:retention")
    return report
