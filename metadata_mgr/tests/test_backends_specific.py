"""What only the scale-out backends must show beyond the shared contract
(test_backends_contract.py): the Elasticsearch request bodies (the tenant as routing
key, the tenant filter inside kNN and in every keyword query), and MongoDB's tenant-led
index keys, tenant-filtered queries and sealed sensitive content."""

from __future__ import annotations

import mongomock
import numpy as np
import pytest

from metadata_mgr import backends
from metadata_mgr import search_engine as engine
from metadata_mgr.actions import do_create_record
from metadata_mgr.backends.elastic import ElasticsearchSearch, keyword_search, knn_search
from metadata_mgr.backends.mongo import MongoDocumentStore
from metadata_mgr.content import current_content
from metadata_mgr.search.query import MetadataSearch
from metadata_mgr.tests.es_standin import InMemoryElasticsearch
from tenancy.context import no_tenant
from tenancy.exceptions import TenantContextMissing

pytestmark = pytest.mark.django_db
TENANT_TERM = {"term": {"tenant_id": "42"}}


def test_elastic_knn_body_filters_tenant_inside_knn():
    request = knn_search("idx", 42, np.ones(4, dtype=np.float32) / 2, 10, "minilm")
    body = request.to_dict()
    assert request._params == {"routing": "42"}
    assert set(body) == {"knn", "size", "_source"}  # no query, no post_filter
    knn = body["knn"]
    assert knn["field"] == "embedding_4" and knn["k"] == 10
    assert knn["num_candidates"] >= knn["k"]
    assert TENANT_TERM in knn["filter"]["bool"]["filter"]
    assert {"term": {"encoder": "minilm"}} in knn["filter"]["bool"]["filter"]


def test_elastic_keyword_body_filters_tenant():
    request = keyword_search("idx", 42, "customer orders", 20)
    body = request.to_dict()
    assert request._params == {"routing": "42"}
    assert "post_filter" not in body
    assert body["query"]["bool"]["filter"] == [TENANT_TERM]
    assert body["query"]["bool"]["must"][0]["multi_match"]["query"] == "customer orders"


@pytest.fixture
def standin(settings):
    backends.reset()
    settings.METADATA_SEARCH_BACKEND = "elasticsearch"
    client = InMemoryElasticsearch(shards=1)
    backends.use(search=ElasticsearchSearch(client, index="dim-metadata"))
    yield client
    backends.reset()


def test_elastic_backend_sends_the_tenant_as_routing_and_knn_filter(standin, in_alpha):
    do_create_record(metadata_type="technical", name="orders", content={"t": "customer orders"})
    engine.search(MetadataSearch("customer orders", similarity_threshold=0.0))
    sent = {("knn" in r["body"]): r for r in standin.requests}
    tenant = str(in_alpha.id)
    assert {r["routing"] for r in standin.requests} == {tenant}
    term = {"term": {"tenant_id": tenant}}
    assert term in sent[True]["body"]["knn"]["filter"]["bool"]["filter"]
    assert term in sent[False]["body"]["query"]["bool"]["filter"]
    # Documents are routed by tenant too, and their ids carry it.
    ((doc_id, (routing, source)),) = standin.docs["dim-metadata"][0].items()
    assert routing == tenant and source["tenant_id"] == tenant
    assert doc_id.startswith(f"{tenant}:")


def test_elastic_standin_refuses_what_it_does_not_execute():
    client = InMemoryElasticsearch()
    client.indices.create(index="i", mappings={"properties": {}})
    client.bulk(operations=[{"index": {"_index": "i", "_id": "1"}}, {"name": "a"}])
    with pytest.raises(NotImplementedError):
        client.search(index="i", body={"query": {"match_all": {}}, "post_filter": TENANT_TERM})
    with pytest.raises(NotImplementedError):
        client.search(index="i", body={"query": {"wildcard": {"name": "a*"}}})


class SpyCollection:
    """A mongomock collection that records every filter it is given."""

    def __init__(self, inner):
        self.inner, self.filters = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def spy(*args, **kwargs):
            if args and isinstance(args[0], dict) and name != "create_index":
                self.filters.append((name, args[0]))
            return method(*args, **kwargs)

        return spy


@pytest.fixture
def mongo(settings):
    backends.reset()
    settings.METADATA_DOCUMENT_STORE = "mongodb"
    collection = SpyCollection(mongomock.MongoClient()["dim_metadata"]["records"])
    store = MongoDocumentStore(collection)
    backends.use(store=store)
    yield collection
    backends.reset()


def test_mongo_index_keys_start_with_tenant(mongo, in_alpha):
    record = do_create_record(metadata_type="technical", name="orders", content={"t": 1})
    current_content(record.pk)
    keys = [spec["key"] for spec in mongo.inner.index_information().values()]
    assert [("tenant_id", 1), ("record_id", 1)] in keys
    assert all(key[0][0] in ("_id", "tenant_id") for key in keys)


def test_mongo_every_query_names_the_tenant(mongo, in_alpha):
    record = do_create_record(metadata_type="technical", name="orders", content={"t": 1})
    current_content(record.pk)
    backends.document_store().delete(str(record.pk))
    backends.document_store().drop_tenant()
    assert mongo.filters
    assert all(f.get("tenant_id") == in_alpha.id for _name, f in mongo.filters)


def test_mongo_fails_closed_without_tenant(mongo):
    store = backends.document_store()
    for call in (lambda: store.get("x"), lambda: store.delete("x"), store.drop_tenant):
        with no_tenant(), pytest.raises(TenantContextMissing):
            call()
    assert mongo.filters == []


def test_mongo_keeps_sensitive_content_sealed(mongo, in_alpha):
    secret = "4111-1111-1111-1111"
    record = do_create_record(
        metadata_type="business", name="cards", content={"card": secret}, sensitive=True
    )
    assert current_content(record.pk) == {"card": secret}
    (raw,) = list(mongo.inner.find({}))
    assert secret.encode() not in bytes(raw["body"])
    assert raw["codec"] & 2  # SEALED


def test_reindex_command_rebuilds_a_tenants_store(mongo, tenant_alpha, tenant_beta):
    from django.core.management import call_command

    from tenancy.context import tenant_context

    with tenant_context(tenant_alpha):
        record = do_create_record(metadata_type="technical", name="orders", content={"t": 1})
        current_content(record.pk)
        backends.document_store().drop_tenant()
    call_command("reindex_metadata_backends", "--tenant", tenant_alpha.slug)
    with tenant_context(tenant_alpha):
        assert current_content(record.pk) == {"t": 1}
    with pytest.raises(Exception, match="No active tenant"):
        call_command("reindex_metadata_backends", "--tenant", "no-such-tenant")
