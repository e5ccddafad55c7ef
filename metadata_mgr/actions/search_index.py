"""The search indexer: applies the tenant's outbox to its search documents.

One transaction per batch: the outbox rows are taken (skipping rows another worker
holds, on PostgreSQL), each changed record is read from the store and its document
written (text and embedding) or turned into a tombstone when the record may no longer
be indexed (deleted, sensitive, purged), and the rows are deleted. The in-process ANN
indexes catch up from the documents (metadata_mgr/search/ann.py), in every process.
When the settings choose external backends (metadata_mgr/backends: Elasticsearch,
MongoDB), the same batch is mirrored into them before the transaction commits.
"""

from __future__ import annotations

import numpy as np
from django.db import connections, transaction
from django.utils import timezone

from metadata_mgr.backends import IndexEntry, document_store, search_backend
from metadata_mgr.db import database
from metadata_mgr.models import MetadataOutbox, Record, SearchDocument
from metadata_mgr.search import encoder_registry, encoders
from metadata_mgr.searchable import searchable_fields, searchable_text
from tenancy import resettable
from tenancy.context import require_tenant_id


def tenant_texts() -> list[str]:
    """The tenant's indexed texts (what the TF-IDF encoder is fitted on)."""
    return list(
        SearchDocument.objects.filter(active=True)
        .order_by("record_id")
        .values_list("text", flat=True)
    )


def current_encoder(extra: list[str] | None = None, *, write: bool = False) -> encoders.Encoder:
    """The tenant's encoder: the shared model, or the tenant's TF-IDF champion in its AI
    registry. With none registered yet, a write (`write=True`: indexing, re-encoding)
    fits one on the tenant's texts plus `extra` (those about to be written) and
    registers it; a read fits one in memory and registers nothing."""
    tenant_id = require_tenant_id()
    shared = encoders.shared_encoder()
    if shared is not None:
        return shared

    def corpus():
        return tenant_texts() + list(extra or [])

    if write:
        return encoder_registry.for_writing(tenant_id, corpus)
    return encoder_registry.for_reading(tenant_id) or encoders.for_tenant(tenant_id, corpus)


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
        written = write_documents(texts, records, docs)
        mirror(written, records)
        MetadataOutbox.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


def write_documents(texts: dict, records: dict, docs: dict) -> list[SearchDocument]:
    """Create, update or tombstone the documents of `texts` ({record id: text or None});
    the documents as written."""
    encoder = current_encoder([t for t in texts.values() if t], write=True)
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
    return changed + created


def entry_of(doc: SearchDocument, record: Record | None) -> IndexEntry | None:
    """What an external search backend holds of a document (None: not indexed)."""
    fields = searchable_fields(record) if record is not None else None
    if not doc.active or fields is None:
        return None
    vector = np.frombuffer(bytes(doc.embedding), dtype=np.float32) if doc.embedding else None
    return IndexEntry(
        record_id=str(doc.record_id),
        text=doc.text,
        fields=fields,
        vector=vector,
        encoder=doc.encoder,
        version_seq=doc.version_seq,
    )


def mirror(docs: list[SearchDocument], records: dict) -> None:
    """Copy the written documents (and the records' content) to the external backends
    of the settings, inside the indexer's transaction: if a backend fails, the outbox
    rows stay and the next run writes the same state again (writes are idempotent)."""
    search, store = search_backend(), document_store()
    if search.external:
        search.write({str(d.record_id): entry_of(d, records.get(d.record_id)) for d in docs})
    if store.external:
        for doc in docs:
            record = records.get(doc.record_id)
            if record is None or record.deleted_at is not None:
                store.delete(str(doc.record_id))
            else:
                store.put(str(record.pk), bytes(record.body), record.codec, record.version_seq)


def do_reencode(limit: int = 2000) -> int:
    """Re-encode the tenant's documents written by another encoder (a TF-IDF refit, a
    change of METADATA_SEARCH_ENCODER); the number done in this batch."""
    encoder = current_encoder(write=True)
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
        if search_backend().external:
            records = Record.objects.filter(pk__in=[d.record_id for d in docs])
            search_backend().write(
                {str(d.record_id): entry_of(d, r) for d, r in _paired(docs, records)}
            )
    return len(docs)


# Per process: the encoder (and when its champion alias last moved) each tenant's
# documents were last found all encoded with, so the periodic indexer scans for stale
# documents once per encoder change, not on each run.
_followed: dict[int, tuple] = {}
resettable.register(_followed.clear, name="metadata_mgr.search_index._followed")


def do_follow_encoder(limit: int = 2000) -> int:
    """Re-encode (up to `limit`) documents left by another encoder once the tenant's
    encoder changed: a refit in another process, a promotion or rollback of the
    `metadata_encoder` champion through the AI registry, a new METADATA_SEARCH_ENCODER.
    A tenant without a registered encoder has nothing to follow (and gets none here)."""
    tenant_id = require_tenant_id()
    shared = encoders.shared_encoder()
    encoder = shared or encoder_registry.for_reading(tenant_id)
    if encoder is None:
        return 0
    seen = (encoder.name, None if shared else encoder_registry.champion_moved_at(tenant_id))
    if _followed.get(tenant_id) == seen:
        return 0
    done = do_reencode(limit)
    if done < limit:
        _followed[tenant_id] = seen
    return done


def _paired(docs, records):
    by_id = {r.pk: r for r in records}
    return [(d, by_id.get(d.record_id)) for d in docs]


def do_reindex_backends(batch: int = 500) -> int:
    """Rebuild the tenant's external backends from the database (the source of truth):
    forget the tenant there, then write every document and live record again. A no-op
    with the database backends. The number of documents written."""
    search, store = search_backend(), document_store()
    if not (search.external or store.external):
        return 0
    do_index_pending(10_000)
    for backend in (search, store):
        if backend.external:
            backend.drop_tenant()
    total, after = 0, None
    while True:
        docs = SearchDocument.objects.order_by("record_id")
        if after is not None:
            docs = docs.filter(record_id__gt=after)
        docs = list(docs[:batch])
        if not docs:
            return total
        records = {r.pk: r for r in Record.objects.filter(pk__in=[d.record_id for d in docs])}
        mirror(docs, records)
        total += len(docs)
        after = docs[-1].record_id


def do_refit_encoder(actor: str = "") -> int:
    """Refit the tenant's TF-IDF encoder on its current texts, register it in the
    tenant's AI registry as the new champion (the previous one stays as a version to
    roll back to), and re-encode: the number of documents re-encoded. A no-op for the
    shared MiniLM model."""
    tenant_id = require_tenant_id()
    encoders.forget(tenant_id)
    if encoders.shared_encoder() is None:
        encoder_registry.register(
            tenant_id, encoders.TfidfSvdEncoder(tenant_texts()), actor=actor, reason="refit"
        )
    done = total = do_reencode()
    while done:
        done = do_reencode()
        total += done
    return total
