"""The search indexer: applies the tenant's outbox to its search documents.

One transaction per batch: the outbox rows are taken (skipping rows another worker
holds, on PostgreSQL), each changed record is read from the store and its document
written (text and embedding) or turned into a tombstone when the record may no longer
be indexed (deleted, sensitive, purged), and the rows are deleted. The in-process ANN
indexes catch up from the documents (metadata_mgr/search/ann.py), in every process.
"""

from __future__ import annotations

import numpy as np
from django.db import connections, transaction
from django.utils import timezone

from metadata_mgr.db import database
from metadata_mgr.models import MetadataOutbox, Record, SearchDocument
from metadata_mgr.search import encoders
from metadata_mgr.searchable import searchable_text
from tenancy.context import require_tenant_id


def tenant_texts() -> list[str]:
    """The tenant's indexed texts (what the TF-IDF encoder is fitted on)."""
    return list(
        SearchDocument.objects.filter(active=True)
        .order_by("record_id")
        .values_list("text", flat=True)
    )


def current_encoder(extra: list[str] | None = None) -> encoders.Encoder:
    """The tenant's encoder; a TF-IDF one not fitted yet is fitted on the tenant's
    texts plus `extra` (those about to be written)."""
    tenant_id = require_tenant_id()
    return encoders.for_tenant(tenant_id, lambda: tenant_texts() + list(extra or []))


def _db() -> str:
    """The database of the tenant's search rows (its own, when dedicated): transactions
    and row locks must be taken there, not on the default database."""
    return database()


def _pending(limit: int):
    rows = MetadataOutbox.objects.order_by("id")
    if connections[_db()].features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    return list(rows[:limit])


def do_index_pending(limit: int = 500) -> int:
    """Apply up to `limit` outbox rows of the tenant in context; the number applied."""
    with transaction.atomic(using=_db()):
        rows = _pending(limit)
        if not rows:
            return 0
        ids = list(dict.fromkeys(r.record_id for r in rows))
        # Documents locked before the records are read: two indexers holding rows of
        # the same record take turns, and the later one reads the later record.
        docs = {
            d.record_id: d
            for d in SearchDocument.objects.select_for_update().filter(record_id__in=ids)
        }
        records = {r.pk: r for r in Record.objects.filter(pk__in=ids)}
        texts = {rid: searchable_text(records[rid]) if rid in records else None for rid in ids}
        write_documents(texts, records, docs)
        MetadataOutbox.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


def write_documents(texts: dict, records: dict, docs: dict) -> None:
    """Create, update or tombstone the documents of `texts` ({record id: text or None})."""
    encoder = current_encoder([t for t in texts.values() if t])
    now = timezone.now()
    fresh = [
        rid
        for rid, text in texts.items()
        if text is not None
        and (rid not in docs or docs[rid].text != text or docs[rid].encoder != encoder.name)
    ]
    vectors = encoder.encode([texts[rid] for rid in fresh]) if fresh else None
    encoded = {rid: vectors[i] for i, rid in enumerate(fresh)}
    changed, created = [], []
    for rid, text in texts.items():
        doc = docs.get(rid) or SearchDocument(record_id=rid)
        seq = records[rid].version_seq if rid in records else doc.version_seq
        if text is None:
            doc.text, doc.embedding, doc.encoder, doc.active = "", None, "", False
        elif rid in encoded:
            doc.text, doc.active, doc.encoder = text, True, encoder.name
            doc.embedding = np.asarray(encoded[rid], dtype=np.float32).tobytes()
        doc.version_seq, doc.updated_at = seq, now
        (changed if doc.pk else created).append(doc)
    if created:
        SearchDocument.objects.bulk_create(created)
    if changed:
        SearchDocument.objects.bulk_update(
            changed, ["text", "embedding", "encoder", "active", "version_seq", "updated_at"]
        )


def do_reencode(limit: int = 2000) -> int:
    """Re-encode the tenant's documents written by another encoder (a TF-IDF refit, a
    change of METADATA_SEARCH_ENCODER); the number done in this batch."""
    encoder = current_encoder()
    with transaction.atomic(using=_db()):
        docs = list(
            SearchDocument.objects.filter(active=True).exclude(encoder=encoder.name)[:limit]
        )
        if not docs:
            return 0
        vectors = encoder.encode([d.text for d in docs])
        now = timezone.now()
        for doc, vector in zip(docs, vectors, strict=True):
            doc.embedding = np.asarray(vector, dtype=np.float32).tobytes()
            doc.encoder, doc.updated_at = encoder.name, now
        SearchDocument.objects.bulk_update(docs, ["embedding", "encoder", "updated_at"])
    return len(docs)


def do_refit_encoder() -> int:
    """Refit the tenant's TF-IDF encoder on its current texts and re-encode (a no-op
    for the shared MiniLM model)."""
    encoders.forget(require_tenant_id())
    done = total = do_reencode()
    while done:
        done = do_reencode()
        total += done
    return total
