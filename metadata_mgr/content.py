"""A record's current content, from the document store of the settings
(metadata_mgr/backends): the record's own row by default, MongoDB when
METADATA_DOCUMENT_STORE=mongodb.

- `record_content(record)`: what the API and the admin show. It asks the store for
  exactly the record's current version (the store is keyed by tenant, from the tenant
  context, so another tenant's record is never there). When the store is behind (the
  indexer has not mirrored the last change yet) or the record is deleted (the store
  keeps only a tombstone), the database answers: it is the source of truth, and a read
  then is never stale and never writes (GET endpoints do not apply the outbox).
- `current_content(record_id)`: by id, for code that may write (the indexer's pending
  changes are applied first).

A store that cannot be reached raises `BackendUnavailable` (a 503 with Retry-After).
"""

from __future__ import annotations

from metadata_mgr.backends import document_store


def record_content(record):
    store = document_store()
    if not store.external or record.deleted_at is not None:
        return record.content
    found = store.get_version(str(record.pk), record.version_seq)
    # A record's content is always a JSON object: None means "not this version".
    return record.content if found is None else found


def current_content(record_id):
    store = document_store()
    if store.external:
        from metadata_mgr.search_engine import catch_up

        catch_up()
    return store.get(str(record_id))
