"""What the metadata manager provides to others through `tenancy.hooks` (registered by
`MetadataConfig.ready()`): the columns it seals with the tenant's key, so the security
feature's rewrap re-seals them under a new key version; its records' daily activity for
the console's Business dashboard."""

from __future__ import annotations

from metadata_mgr.codec import SEALED, row_aad
from tenancy import hooks


def sealed_columns() -> list:
    from metadata_mgr.models import Record, RecordVersion

    return [
        hooks.SealedColumn(
            model=model,
            attname="body",
            aad=lambda row: row_aad(row, "body"),
            is_sealed=lambda row: bool(row.codec & SEALED),
        )
        for model in (Record, RecordVersion)
    ]


def record_activity(since, until) -> list:
    """`tenancy.hooks.tenant_activity`: record versions written per day (creations,
    updates, deletions, rollbacks) and the live records now, for the Business dashboard."""
    from django.utils.translation import gettext_lazy as _

    from metadata_mgr.models import Record, RecordVersion
    from tenancy.selectors import daily_counts

    written = daily_counts(
        RecordVersion.objects.filter(created_at__gte=since, created_at__lt=until), "created_at"
    )
    live = Record.objects.filter(deleted_at__isnull=True).count()
    return [hooks.ActivityCount("records", _("Metadata records written"), written, total=live)]


def register() -> None:
    hooks.sealed_columns.register(sealed_columns)
    hooks.tenant_activity.register(record_activity)
