"""The backend protocols. Every method acts for the tenant in context
(`tenancy.context.require_tenant_id()`): an implementation never takes a tenant from
its caller, and without a tenant context it fails closed (`TenantContextMissing`).
A backend that cannot be reached raises `metadata_mgr.exceptions.BackendUnavailable`
(a 503 with Retry-After)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Hit = tuple[str, float]  # (record id, score), best first


@dataclass(frozen=True)
class IndexEntry:
    """What a search backend holds of one indexable record."""

    record_id: str
    text: str  # name, tags, owner and content in one line (searchable.searchable_text)
    fields: dict  # the same parts separately (searchable.searchable_fields)
    vector: np.ndarray | None  # unit length, from `encoder`
    encoder: str
    version_seq: int


@runtime_checkable
class SearchBackend(Protocol):
    name: str
    # False: the indexer's `SearchDocument` rows are this backend's index (nothing to
    # mirror). True: the indexer mirrors every change into it.
    external: bool

    def write(self, entries: Mapping[str, IndexEntry | None]) -> None:
        """Upsert the entries; None removes the record from the index."""

    def keyword(self, query: str, limit: int) -> list[Hit]:
        """Records matching any word of `query`, best first."""

    def semantic(self, vector: np.ndarray, k: int, threshold: float, encoder: str) -> list[Hit]:
        """The k nearest records by cosine (written by `encoder`), at least `threshold`."""

    def drop_tenant(self) -> None:
        """Forget everything of the tenant (before a reindex)."""


@runtime_checkable
class DocumentStore(Protocol):
    name: str
    external: bool

    def put(self, record_id: str, body: bytes, codec: int, version_seq: int) -> None:
        """Store the record's current content, encoded as in `metadata_mgr.codec`
        (compressed, and sealed with the tenant's key when sensitive). An older
        `version_seq` than the one stored is ignored."""

    def get(self, record_id: str):
        """The decoded content of a live record, None when there is none."""

    def get_version(self, record_id: str, version_seq: int):
        """The decoded content of a live record if the store holds exactly version
        `version_seq` of it, else None (the store is behind: the caller reads the
        database, the source of truth)."""

    def delete(self, record_id: str) -> None:
        """The record is deleted (soft or hard): `get` answers None."""

    def drop_tenant(self) -> None:
        """Forget everything of the tenant (before a reindex)."""
