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


def drop_search_index(user_id: int | None) -> int:
    """`tenancy.hooks.drop_search_index`: the tenant's search documents and pending
    outbox rows, then this process's loaded index and the tenant's fitted encoder (its
    AI registry versions and artifact files; other processes catch up from the emptied
    documents). Records are not linked to users, so a user's
    erasure has nothing here to drop (their records go with the rows that name them)."""
    from django.db import transaction

    from metadata_mgr.db import database
    from metadata_mgr.models import MetadataOutbox, SearchDocument
    from metadata_mgr.search import ann, encoder_registry, encoders
    from tenancy.context import require_tenant_id

    if user_id is not None:
        return 0
    tenant_id = require_tenant_id("dropping the search index")
    with transaction.atomic(using=database()):
        MetadataOutbox.objects.all()._raw_delete(database())
        dropped = SearchDocument.objects.all()._raw_delete(database())
    with ann.registry.lock:
        ann.registry.indexes.pop(tenant_id, None)
    encoders.forget(tenant_id)
    # The TF-IDF encoder's vocabulary is the tenant's words: its registry versions and
    # their artifact files (only signed, not encrypted) go with the index.
    encoder_registry.drop(tenant_id)
    # The configured scale-out backends (Elasticsearch, MongoDB) hold copies: erased too.
    from metadata_mgr import backends

    backends.search_backend().drop_tenant()
    backends.document_store().drop_tenant()
    return dropped


def register() -> None:
    hooks.sealed_columns.register(sealed_columns)
    hooks.tenant_activity.register(record_activity)
    hooks.drop_search_index.register(drop_search_index)
