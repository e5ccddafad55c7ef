"""Keyword search over the tenant's search documents: PostgreSQL full text (the GIN
index of migration 0003 on `to_tsvector('english', text)`), SQLite FTS5 (porter
stemming) on the embedded default. Any word of the query matches; more and rarer
matches rank higher.

Raw SQL, so the tenant filter is written here (from the context, never the caller);
on PostgreSQL row-level security enforces it a second time.
"""

from __future__ import annotations

import re

from django.db import connections, router

from metadata_mgr.models import SearchDocument
from tenancy.context import require_tenant_id

WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 32


def terms(query: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in WORD.findall(query.lower()):
        seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def search(query: str, limit: int) -> list[tuple[str, float]]:
    """[(record id, score)], best first."""
    words = terms(query)
    if not words:
        return []
    tenant_id = require_tenant_id()
    # The database holding the tenant's documents (its own, when dedicated): raw SQL
    # does not go through the router by itself.
    connection = connections[router.db_for_read(SearchDocument)]
    if connection.vendor == "postgresql":
        # Words only (\w+), joined with "|": the tsquery syntax cannot be injected.
        sql = (
            "SELECT record_id, ts_rank_cd(to_tsvector('english'::regconfig, text), q) AS rank "
            "FROM metadata_mgr_searchdocument, to_tsquery('english'::regconfig, %s) q "
            "WHERE tenant_id = %s AND active "
            "AND to_tsvector('english'::regconfig, text) @@ q "
            "ORDER BY rank DESC, record_id LIMIT %s"
        )
        params = [" | ".join(words), tenant_id, limit]
    else:
        # Each word quoted: FTS5 operators in the query are plain text.
        match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        sql = (
            "SELECT d.record_id, -bm25(metadata_search_fts) AS rank "
            "FROM metadata_search_fts JOIN metadata_mgr_searchdocument d "
            "ON d.id = metadata_search_fts.rowid "
            "WHERE metadata_search_fts MATCH %s AND d.tenant_id = %s AND d.active "
            "ORDER BY rank DESC, d.record_id LIMIT %s"
        )
        params = [match, tenant_id, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [(_hex(rid), float(rank)) for rid, rank in rows]


def _hex(value) -> str:
    import uuid

    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
