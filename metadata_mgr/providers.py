"""What the metadata manager provides to others through `tenancy.hooks` (registered by
`MetadataConfig.ready()`): the columns it seals with the tenant's key, so the security
feature's rewrap re-seals them under a new key version."""

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


def register() -> None:
    hooks.sealed_columns.register(sealed_columns)
