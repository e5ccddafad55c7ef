"""The default backends: the database itself. Behaviour is that of search/keyword.py,
search/ann.py and the `Record` table; writes happen elsewhere (the indexer writes
`SearchDocument`, the actions write `Record`), in the transaction of the change."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from metadata_mgr.backends.base import Hit, IndexEntry
from tenancy.context import require_tenant_id


class DatabaseSearch:
    name = "database"
    external = False

    def write(self, entries: Mapping[str, IndexEntry | None]) -> None:
        # The indexer's SearchDocument rows are this index (written for every backend:
        # they hold the vectors, the source of truth).
        require_tenant_id()

    def keyword(self, query: str, limit: int) -> list[Hit]:
        from metadata_mgr.search import keyword

        return keyword.search(query, limit)

    def semantic(self, vector: np.ndarray, k: int, threshold: float, encoder: str) -> list[Hit]:
        from metadata_mgr.search import ann

        index = ann.registry.current(encoder, int(np.asarray(vector).shape[-1]))
        return [(rid, score) for rid, score in index.search(vector, k) if score >= threshold]

    def drop_tenant(self) -> None:
        require_tenant_id()


class DatabaseDocumentStore:
    name = "database"
    external = False

    def put(self, record_id: str, body: bytes, codec: int, version_seq: int) -> None:
        require_tenant_id()  # the record's own row holds its content

    def get(self, record_id: str):
        return self._content(record_id, {})

    def get_version(self, record_id: str, version_seq: int):
        return self._content(record_id, {"version_seq": int(version_seq)})

    @staticmethod
    def _content(record_id: str, match: dict):
        import uuid

        from metadata_mgr.models import Record

        require_tenant_id()
        try:
            record_id = uuid.UUID(str(record_id))
        except ValueError:
            return None  # not a record id: no such record, as in the other stores
        record = Record.objects.filter(pk=record_id, deleted_at__isnull=True, **match).first()
        return None if record is None else record.content

    def delete(self, record_id: str) -> None:
        require_tenant_id()

    def drop_tenant(self) -> None:
        require_tenant_id()
