"""Where search and record content live, chosen by settings.

Two seams, each a small protocol (`base.py`):

- `SearchBackend`: keyword and semantic hits for the tenant in context. The default,
  "database", is PostgreSQL full text / SQLite FTS5 plus the in-process ANN index over
  `SearchDocument` (search/keyword.py, search/ann.py); "elasticsearch" is one shared
  index with the tenant as routing key (elastic.py).
- `DocumentStore`: a record's current content. The default, "database", is the
  record's own `body` column; "mongodb" is a collection keyed by (tenant, record)
  (mongo.py).

The database stays the source of truth (records, versions, vectors): the search
indexer (actions/search_index.py) applies the outbox to `SearchDocument` and, in the
same pass, mirrors the change to an external backend, so an external backend is
rebuilt from the database at any time (`do_reindex_backends`).

Settings: METADATA_SEARCH_BACKEND ("database" | "elasticsearch", ELASTICSEARCH_URL),
METADATA_DOCUMENT_STORE ("database" | "mongodb", MONGODB_URL).
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from metadata_mgr.backends.base import DocumentStore, IndexEntry, SearchBackend
from tenancy import resettable

__all__ = ["DocumentStore", "IndexEntry", "SearchBackend", "document_store", "search_backend"]

_lock = threading.Lock()
_made: dict[str, object] = {}


def _build_search(kind: str) -> SearchBackend:
    if kind == "database":
        from metadata_mgr.backends.database import DatabaseSearch

        return DatabaseSearch()
    if kind == "elasticsearch":
        from metadata_mgr.backends.elastic import ElasticsearchSearch

        url = getattr(settings, "ELASTICSEARCH_URL", "")
        if not url:
            raise ImproperlyConfigured(
                "METADATA_SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL."
            )
        return ElasticsearchSearch.from_url(url)
    raise ImproperlyConfigured(
        f"METADATA_SEARCH_BACKEND must be 'database' or 'elasticsearch', not {kind!r}."
    )


def _build_store(kind: str) -> DocumentStore:
    if kind == "database":
        from metadata_mgr.backends.database import DatabaseDocumentStore

        return DatabaseDocumentStore()
    if kind == "mongodb":
        from metadata_mgr.backends.mongo import MongoDocumentStore

        url = getattr(settings, "MONGODB_URL", "")
        if not url:
            raise ImproperlyConfigured("METADATA_DOCUMENT_STORE=mongodb needs MONGODB_URL.")
        return MongoDocumentStore.from_url(url)
    raise ImproperlyConfigured(
        f"METADATA_DOCUMENT_STORE must be 'database' or 'mongodb', not {kind!r}."
    )


def _cached(key: str, build):
    # One client per process: Elasticsearch and MongoClient pool their connections.
    with _lock:
        if key not in _made:
            _made[key] = build()
        return _made[key]


def search_backend() -> SearchBackend:
    kind = getattr(settings, "METADATA_SEARCH_BACKEND", "database")
    return _cached(f"search:{kind}", lambda: _build_search(kind))


def document_store() -> DocumentStore:
    kind = getattr(settings, "METADATA_DOCUMENT_STORE", "database")
    return _cached(f"store:{kind}", lambda: _build_store(kind))


def use(*, search: SearchBackend | None = None, store: DocumentStore | None = None) -> None:
    """Install backend instances (tests, and a process that builds its own clients)."""
    with _lock:
        if search is not None:
            _made[f"search:{getattr(settings, 'METADATA_SEARCH_BACKEND', 'database')}"] = search
        if store is not None:
            _made[f"store:{getattr(settings, 'METADATA_DOCUMENT_STORE', 'database')}"] = store


def reset() -> None:
    with _lock:
        _made.clear()


resettable.register(reset, name="metadata_mgr.backends")
