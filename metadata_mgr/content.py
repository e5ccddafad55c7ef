"""A record's current content, from the document store of the settings
(metadata_mgr/backends): the record's own row by default, MongoDB when
METADATA_DOCUMENT_STORE=mongodb. An external store is fed by the search indexer, so
the tenant's pending changes are applied first: a read never returns content older
than the last committed change, nor a deleted record's."""

from __future__ import annotations

from metadata_mgr.backends import document_store


def current_content(record_id):
    store = document_store()
    if store.external:
        from metadata_mgr.search_engine import catch_up

        catch_up()
    return store.get(str(record_id))
