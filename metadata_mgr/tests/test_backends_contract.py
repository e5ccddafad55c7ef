"""The backend contract: one suite, run against every search backend and document
store (metadata_mgr/backends).

- "database": the default backends, always;
- "standin": named stand-ins in CI: `mongomock` for MongoDB, and
  `InMemoryElasticsearch` (metadata_mgr/tests/es_standin.py) for Elasticsearch;
- "real": real servers when ELASTICSEARCH_URL / MONGODB_URL are set (each test in a
  fresh index / database, dropped afterwards), otherwise SKIPPED ("not run: set ...").

Every case goes through the real flow (the actions write, the outbox indexer mirrors)
and reads through the backend: put / get / delete / search, tenant isolation,
nothing stale after a delete, an update or a rollback, and a rebuild from the
database (reindex).
"""

from __future__ import annotations

import os
import uuid

import pytest
from django.urls import reverse

from metadata_mgr import backends
from metadata_mgr import search_engine as engine
from metadata_mgr.actions import (
    do_create_record,
    do_delete_record,
    do_restore_record,
    do_rollback_record,
    do_update_record,
)
from metadata_mgr.actions.search_index import current_encoder, do_reindex_backends
from metadata_mgr.content import current_content
from tenancy.context import no_tenant, tenant_context
from tenancy.exceptions import TenantContextMissing

pytestmark = pytest.mark.django_db

SEARCH_KINDS = ["database", "standin", "real"]
STORE_KINDS = ["database", "standin", "real"]


def _real_search(settings):
    url = os.environ.get("ELASTICSEARCH_URL", "")
    if not url:
        pytest.skip("not run: set ELASTICSEARCH_URL to run the contract against Elasticsearch")
    settings.METADATA_ELASTICSEARCH_INDEX = f"dim-metadata-test-{uuid.uuid4().hex[:12]}"
    backend = backends.elastic.ElasticsearchSearch.from_url(url)
    return backend, lambda: backend.client.indices.delete(index=backend.index)


def _real_store(settings):
    url = os.environ.get("MONGODB_URL", "")
    if not url:
        pytest.skip("not run: set MONGODB_URL to run the contract against MongoDB")
    settings.METADATA_MONGODB_DATABASE = f"dim_metadata_test_{uuid.uuid4().hex[:12]}"
    store = backends.mongo.MongoDocumentStore.from_url(url)
    database = store.collection.database
    return store, lambda: database.client.drop_database(database.name)


@pytest.fixture(params=SEARCH_KINDS)
def search(request, settings):
    """The search backend under test, installed as the settings' choice."""

    backends.reset()
    done = None
    if request.param == "database":
        settings.METADATA_SEARCH_BACKEND = "database"
        backend = backends.search_backend()
    else:
        from metadata_mgr.backends.elastic import ElasticsearchSearch
        from metadata_mgr.tests.es_standin import InMemoryElasticsearch

        settings.METADATA_SEARCH_BACKEND = "elasticsearch"
        if request.param == "standin":
            # One shard: every tenant shares it, so isolation rests on the tenant filter.
            backend = ElasticsearchSearch(InMemoryElasticsearch(shards=1), index="dim-metadata")
        else:
            backend, done = _real_search(settings)
        backends.use(search=backend)
    yield backend
    backends.reset()
    if done:
        done()


@pytest.fixture(params=STORE_KINDS)
def store(request, settings):
    """The document store under test, installed as the settings' choice."""
    import metadata_mgr.backends.mongo  # noqa: F401  (for _real_store)

    backends.reset()
    done = None
    if request.param == "database":
        settings.METADATA_DOCUMENT_STORE = "database"
        backend = backends.document_store()
    else:
        from metadata_mgr.backends.mongo import MongoDocumentStore

        settings.METADATA_DOCUMENT_STORE = "mongodb"
        if request.param == "standin":
            import mongomock

            backend = MongoDocumentStore(mongomock.MongoClient()["dim_metadata"]["records"])
        else:
            backend, done = _real_store(settings)
        backends.use(store=backend)
    yield backend
    backends.reset()
    if done:
        done()


# --- helpers --------------------------------------------------------------------------------


def keyword_ids(backend, query: str) -> set[str]:
    engine.catch_up()
    return {rid for rid, _score in backend.keyword(query, 50)}


def semantic_ids(backend, query: str, k: int = 50) -> list[str]:
    engine.catch_up()
    encoder = current_encoder()
    vector = engine.query_vector(query, encoder)
    return [rid for rid, _score in backend.semantic(vector, k, 0.0, encoder.name)]


def record(name: str, **content):
    return do_create_record(metadata_type="technical", name=name, content=content)


# --- document store -------------------------------------------------------------------------


def test_store_put_get_returns_current_content(store, in_alpha):
    made = record("orders", table="orders", columns=["id", "total"])
    assert current_content(made.pk) == {"table": "orders", "columns": ["id", "total"]}
    assert current_content(uuid.uuid4()) is None
    assert current_content("not-a-record-id") is None


def test_store_update_and_rollback_are_never_stale(store, in_alpha):
    made = record("orders", table="orders")
    do_update_record(made.pk, content={"table": "orders_v2"})
    assert current_content(made.pk) == {"table": "orders_v2"}
    do_rollback_record(made.pk, 1)
    assert current_content(made.pk) == {"table": "orders"}


def test_store_delete_and_restore(store, in_alpha):
    made = record("orders", table="orders")
    assert current_content(made.pk) is not None
    do_delete_record(made.pk)
    assert current_content(made.pk) is None
    do_restore_record(made.pk)
    assert current_content(made.pk) == {"table": "orders"}


def test_store_ignores_an_older_put(store, in_alpha):
    from metadata_mgr.codec import encode_plain

    made = record("orders", table="orders")
    do_update_record(made.pk, content={"table": "newer"})
    current_content(made.pk)  # applied
    body, codec = encode_plain({"table": "older"})
    store.put(str(made.pk), body, codec, version_seq=1)
    assert current_content(made.pk) == {"table": "newer"}


def test_store_tenant_isolation(store, tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        mine = record("orders", owner_secret="alpha")
    with tenant_context(tenant_beta):
        theirs = record("orders", owner_secret="beta")
        assert current_content(mine.pk) is None
        assert current_content(theirs.pk) == {"owner_secret": "beta"}
    with tenant_context(tenant_alpha):
        assert current_content(mine.pk) == {"owner_secret": "alpha"}
        assert current_content(theirs.pk) is None


def test_store_fails_closed_without_tenant(store, in_alpha):
    made = record("orders", table="orders")
    current_content(made.pk)
    with no_tenant(), pytest.raises(TenantContextMissing):
        store.get(str(made.pk))


def test_store_reindex_rebuilds_from_database(store, in_alpha):
    made = record("orders", table="orders")
    gone = record("gone", table="gone")
    do_delete_record(gone.pk)
    current_content(made.pk)
    store.drop_tenant()
    do_reindex_backends()
    assert current_content(made.pk) == {"table": "orders"}
    assert current_content(gone.pk) is None


# --- search backend -------------------------------------------------------------------------


def test_search_keyword_and_semantic_find_a_record(search, in_alpha):
    made = record("shipping_events", stream="parcel delivery tracking")
    assert str(made.pk) in keyword_ids(search, "parcel")
    assert semantic_ids(search, "package delivery")[:1] == [str(made.pk)]


def test_search_delete_is_never_stale(search, in_alpha):
    made = record("shipping_events", stream="parcel delivery tracking")
    assert str(made.pk) in keyword_ids(search, "parcel")
    do_delete_record(made.pk)
    assert str(made.pk) not in keyword_ids(search, "parcel")
    assert str(made.pk) not in semantic_ids(search, "parcel delivery")
    do_restore_record(made.pk)
    assert str(made.pk) in keyword_ids(search, "parcel")


def test_search_update_and_rollback_are_never_stale(search, in_alpha):
    made = record("events", stream="parcel delivery")
    do_update_record(made.pk, content={"stream": "invoice payments"})
    assert str(made.pk) not in keyword_ids(search, "parcel")
    assert str(made.pk) in keyword_ids(search, "invoice")
    do_rollback_record(made.pk, 1)
    assert str(made.pk) in keyword_ids(search, "parcel")
    assert str(made.pk) not in keyword_ids(search, "invoice")


def test_search_sensitive_record_is_not_indexed(search, in_alpha):
    made = record("events", stream="parcel delivery")
    do_update_record(made.pk, sensitive=True)
    assert str(made.pk) not in keyword_ids(search, "parcel")
    assert str(made.pk) not in semantic_ids(search, "parcel delivery")


@pytest.mark.parametrize(
    "path",
    [
        {"semantic_search": False},
        {"keyword_search": False, "similarity_threshold": 0.0},
        {"similarity_threshold": 0.0},
    ],
    ids=["keyword", "semantic", "hybrid"],
)
def test_search_tenant_isolation(search, tenant_alpha, tenant_beta, path):
    from metadata_mgr.search.query import MetadataSearch

    with tenant_context(tenant_beta):
        theirs = {str(record(f"orders_{i}", table="customer orders").pk) for i in range(3)}
    with tenant_context(tenant_alpha):
        mine = str(record("orders", table="customer orders").pk)
        hits = {h["id"] for h in engine.search(MetadataSearch("customer orders", limit=50, **path))}
        assert hits == {mine}
        assert keyword_ids(search, "customer orders") == {mine}
        assert semantic_ids(search, "customer orders") == [mine]
    with tenant_context(tenant_beta):
        assert keyword_ids(search, "customer orders") == theirs
        assert mine not in semantic_ids(search, "customer orders")


def test_search_knn_gives_a_tenant_its_k_nearest(search, tenant_alpha, tenant_beta):
    """Another tenant's many closer vectors do not crowd a tenant's own out of its k
    (the tenant filter is applied inside the kNN search, not after it)."""
    with tenant_context(tenant_beta):
        for i in range(12):
            record(f"customer_orders_{i}", table="customer orders", note=f"copy {i}")
    with tenant_context(tenant_alpha):
        mine = {str(record(n, kpi=n).pk) for n in ("revenue", "staff", "weather")}
        assert set(semantic_ids(search, "customer orders", k=3)) == mine


def test_search_fails_closed_without_tenant(search, in_alpha):
    record("events", stream="parcel delivery")
    engine.catch_up()
    with no_tenant(), pytest.raises(TenantContextMissing):
        search.keyword("parcel", 10)


def test_search_reindex_rebuilds_from_database(search, in_alpha):
    made = record("events", stream="parcel delivery")
    gone = record("gone", stream="parcel gone")
    do_delete_record(gone.pk)
    assert keyword_ids(search, "parcel") == {str(made.pk)}
    search.drop_tenant()
    do_reindex_backends()
    assert keyword_ids(search, "parcel") == {str(made.pk)}
    assert semantic_ids(search, "parcel delivery")[:1] == [str(made.pk)]


def test_search_erasure_hook_empties_the_backend_of_that_tenant_only(
    search, tenant_alpha, tenant_beta
):
    """GDPR erasure asks `tenancy.hooks.drop_search_index`: the configured search
    backend loses the tenant's copies too, and nobody else's."""
    from tenancy import hooks

    with tenant_context(tenant_beta):
        kept = str(record("parcels", stream="parcel delivery").pk)
        engine.catch_up()
    with tenant_context(tenant_alpha):
        erased = record("parcels", stream="parcel delivery")
        assert keyword_ids(search, "parcel") == {str(erased.pk)}
        hooks.drop_search_index.call(None)
        assert {rid for rid, _ in search.keyword("parcel", 50)} == set()
    with tenant_context(tenant_beta):
        assert keyword_ids(search, "parcel") == {kept}


# --- the API reads content through the store ------------------------------------------------

RECORDS = "/api/v1/metadata/records/"


def _api_record(client, **content):
    response = client.post(
        RECORDS,
        {"metadata_type": "technical", "name": "orders", "content": content},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_store_api_and_admin_read_content_from_the_store(store, tenant_alpha, alpha_owner, client):
    """What the store holds of the record's current version is what the API and the
    admin show (the store's copy is made to differ from the row to tell them apart;
    the database store IS the row, so there the row's content is shown)."""
    from metadata_mgr.codec import encode_plain
    from tests.personas import api_as

    made = _api_record(api_as(alpha_owner, tenant_alpha), table="orders")
    with tenant_context(tenant_alpha):
        engine.catch_up()
        body, codec = encode_plain({"table": "served by the store"})
        store.put(made["id"], body, codec, version_seq=made["version_seq"])
    expected = {"table": "served by the store"} if store.external else {"table": "orders"}
    detail = api_as(alpha_owner, tenant_alpha).get(f"{RECORDS}{made['id']}/")
    assert detail.status_code == 200 and detail.json()["content"] == expected
    client.force_login(alpha_owner)
    page = client.get(reverse("admin:metadata_mgr_record_change", args=[made["id"]]))
    assert page.status_code == 200
    assert ("served by the store" in page.content.decode()) == store.external


def test_store_behind_answers_from_the_database_without_writing(store, tenant_alpha, alpha_owner):
    """A change the indexer has not mirrored yet: the read is not stale (the database
    answers) and the GET applies nothing (the outbox row is still there)."""
    from metadata_mgr.models import MetadataOutbox
    from tests.personas import api_as

    client = api_as(alpha_owner, tenant_alpha)
    made = _api_record(client, table="orders")
    with tenant_context(tenant_alpha):
        engine.catch_up()
    patched = client.patch(f"{RECORDS}{made['id']}/", {"content": {"table": "v2"}}, format="json")
    assert patched.status_code == 200, patched.content
    detail = client.get(f"{RECORDS}{made['id']}/")
    assert detail.json()["content"] == {"table": "v2"}
    with tenant_context(tenant_alpha):
        assert MetadataOutbox.objects.filter(record_id=made["id"]).exists()


def test_store_sensitive_record_is_read_back_opened(store, tenant_alpha, alpha_owner):
    from tests.personas import api_as

    client = api_as(alpha_owner, tenant_alpha)
    made = client.post(
        RECORDS,
        {
            "metadata_type": "technical",
            "name": "keys",
            "content": {"secret": "s3"},
            "sensitive": True,
        },
        format="json",
    ).json()
    with tenant_context(tenant_alpha):
        engine.catch_up()
        assert store.get_version(made["id"], made["version_seq"]) == {"secret": "s3"}
    assert client.get(f"{RECORDS}{made['id']}/").json()["content"] == {"secret": "s3"}


def test_store_content_of_one_tenant_is_never_read_in_another(
    store, tenant_alpha, tenant_beta, alpha_owner, beta_owner
):
    from tests.personas import api_as

    made = _api_record(api_as(alpha_owner, tenant_alpha), owner_secret="alpha")
    with tenant_context(tenant_alpha):
        engine.catch_up()
        assert store.get_version(made["id"], made["version_seq"]) == {"owner_secret": "alpha"}
    with tenant_context(tenant_beta):
        assert store.get_version(made["id"], made["version_seq"]) is None
        assert store.get(made["id"]) is None
    answer = api_as(beta_owner, tenant_beta).get(f"{RECORDS}{made['id']}/")
    assert answer.status_code == 404 and "alpha" not in answer.content.decode()
