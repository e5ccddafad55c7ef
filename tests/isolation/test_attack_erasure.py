"""Attacks on GDPR erasure (lifecycle_mgr.erasure): what an erasure leaves behind.

Found: with the external metadata backends (METADATA_SEARCH_BACKEND=elasticsearch,
METADATA_DOCUMENT_STORE=mongodb, metadata_mgr/backends), `erase_tenant` leaves every
record of the tenant in both. The erasure's search step is the `drop_search_index`
hook (metadata_mgr/providers.py), which deletes `SearchDocument` and the outbox in the
database only and never calls the backends' `drop_tenant()`; the records themselves
are purged by set-based `_raw_delete` (no outbox rows), so the indexer never mirrors
their removal either. Records' names, owners, tags and content stay searchable in the
shared Elasticsearch index and readable in the shared MongoDB collection, while the
signed certificate says the search index was destroyed. (Non-sensitive records are
stored there in clear; crypto-shredding covers only the sealed ones.)"""

from __future__ import annotations

import pytest

from lifecycle_mgr.erasure import erase_tenant
from metadata_mgr import backends
from metadata_mgr import search_engine as engine
from metadata_mgr.actions import do_create_record
from metadata_mgr.backends.elastic import ElasticsearchSearch
from metadata_mgr.backends.mongo import MongoDocumentStore
from metadata_mgr.tests.es_standin import InMemoryElasticsearch
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def external_backends(settings):
    import mongomock

    backends.reset()
    settings.METADATA_SEARCH_BACKEND = "elasticsearch"
    settings.METADATA_DOCUMENT_STORE = "mongodb"
    search = ElasticsearchSearch(InMemoryElasticsearch(shards=1), index="dim-metadata")
    store = MongoDocumentStore(mongomock.MongoClient()["dim_metadata"]["records"])
    backends.use(search=search, store=store)
    yield search, store
    backends.reset()


def test_attack_erasure_leaves_nothing_in_external_backends(
    external_backends, tenant_alpha, tenant_beta
):
    search, store = external_backends
    with tenant_context(tenant_alpha):
        made = do_create_record(
            metadata_type="business",
            name="customers",
            content={"contact": "jane.doe@example.com zeppelin"},
        )
        engine.catch_up()  # the indexer mirrors the record into both backends
        assert store.get(str(made.pk)) is not None  # positive control
        assert search.keyword("zeppelin", 10)
    with tenant_context(tenant_beta):  # the other tenant's control
        theirs = do_create_record(metadata_type="business", name="x", content={"k": "zeppelin"})
        engine.catch_up()

    certificate = erase_tenant(tenant_alpha.pk, actor="test:erasure")
    assert certificate.receipt["destroyed"]["search_documents"] >= 1  # "destroyed"

    with tenant_context(tenant_alpha):
        left_in_search = search.keyword("zeppelin", 10)
        left_in_store = store.get(str(made.pk))
    with tenant_context(tenant_beta):
        assert store.get(str(theirs.pk)) is not None  # erasure stayed in its tenant
    assert left_in_store is None, f"erased record still in MongoDB: {left_in_store!r}"
    assert left_in_search == [], f"erased record still in Elasticsearch: {left_in_search!r}"
