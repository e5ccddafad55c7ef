"""Search isolation: a second tenant never sees the first tenant's records, through any
search path: keyword (PostgreSQL full text / SQLite FTS5), semantic (the ANN index,
exact and HNSW), hybrid, the query-embedding cache, the fitted TF-IDF encoder, the API
(its seed alias naming another tenant) and the facade."""

import numpy as np
import pytest

from metadata_mgr import search_engine as engine
from metadata_mgr.models import SearchDocument
from metadata_mgr.search import ann
from metadata_mgr.search.query import MetadataSearch
from metadata_mgr.tests.search_data import make_catalogue
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db

EVERY_PATH = [
    {"semantic_search": False},  # keyword
    {"keyword_search": False, "similarity_threshold": 0.0},  # semantic
    {"similarity_threshold": 0.0},  # hybrid
]


@pytest.fixture
def alpha_catalogue(tenant_alpha):
    with tenant_context(tenant_alpha):
        made = make_catalogue()
        engine.catch_up()
    return made


def names(query, **options):
    return [h["name"] for h in engine.search(MetadataSearch(query, limit=50, **options))]


@pytest.mark.parametrize("options", EVERY_PATH)
def test_second_tenant_never_sees_first_tenants_records(
    alpha_catalogue, tenant_alpha, tenant_beta, options
):
    with tenant_context(tenant_alpha):
        assert "customer_orders" in names("customer orders", **options)
    with tenant_context(tenant_beta):
        assert names("customer orders", **options) == []
        # Beta's own record of the same name is the only one beta finds.
        from metadata_mgr.actions import do_create_record

        mine = do_create_record(metadata_type="technical", content={"t": 1}, name="customer_orders")
        hits = engine.search(MetadataSearch("customer orders", limit=50, **options))
        assert {h["id"] for h in hits} <= {str(mine.pk)}
        assert not ({h["id"] for h in hits} & {str(r.pk) for r in alpha_catalogue.values()})


@pytest.mark.parametrize("ann_min", [10_000, 2])  # exact, then the HNSW graph
def test_ann_index_is_per_tenant(alpha_catalogue, tenant_alpha, tenant_beta, settings, ann_min):
    settings.METADATA_SEARCH_ANN_MIN = ann_min
    with tenant_context(tenant_alpha):
        names("orders", keyword_search=False, similarity_threshold=0.0)
    with tenant_context(tenant_beta):
        from metadata_mgr.actions import do_create_record

        do_create_record(metadata_type="business", content={"k": "orders"}, name="beta_orders")
        hits = names("orders", keyword_search=False, similarity_threshold=0.0)
        assert hits == ["beta_orders"]
    alpha_index = ann.registry.indexes[tenant_alpha.pk]
    beta_index = ann.registry.indexes[tenant_beta.pk]
    assert (alpha_index.hnsw is not None) == (ann_min == 2)
    assert set(alpha_index.row_of) == {str(r.pk) for r in alpha_catalogue.values()}
    assert not set(beta_index.row_of) & set(alpha_index.row_of)
    assert beta_index.live == 1


def test_index_documents_are_scoped(alpha_catalogue, tenant_beta):
    with tenant_context(tenant_beta):
        assert SearchDocument.objects.count() == 0
        assert ann._rows().count() == 0


def test_query_embedding_cache_is_per_tenant(alpha_catalogue, tenant_alpha, tenant_beta):
    from cache_mgr import api as cache

    with tenant_context(tenant_alpha):
        encoder = engine.current_encoder()
        before = names("parcel delivery", keyword_search=False, similarity_threshold=0.3)
        assert before[0] == "shipping_events"
        # Poison alpha's cached embedding of this query: alpha's answer changes ...
        keys = [k for k in _cache_keys(encoder, "parcel delivery")]
        opposite = (-engine.query_vector("parcel delivery", encoder)).astype(np.float32)
        cache.set(keys[0], opposite.tobytes(), 60, namespace=engine.CACHE_NAMESPACE)
        poisoned = names("parcel delivery", keyword_search=False, similarity_threshold=0.3)
        assert poisoned != before
    with tenant_context(tenant_beta):
        # ... beta's never reads alpha's entry.
        assert cache.get(keys[0], namespace=engine.CACHE_NAMESPACE) is None
        make_catalogue()
        assert names("parcel delivery", keyword_search=False, similarity_threshold=0.3)[0] == (
            "shipping_events"
        )


def _cache_keys(encoder, text):
    import hashlib

    return [f"q:{encoder.name}:{hashlib.sha256(text.encode()).hexdigest()[:40]}"]


def test_tfidf_encoder_is_fitted_on_the_tenants_own_texts(
    alpha_catalogue, tenant_alpha, tenant_beta, settings
):
    settings.METADATA_SEARCH_ENCODER = "tfidf"
    with tenant_context(tenant_beta):
        from metadata_mgr.actions import do_create_record

        do_create_record(metadata_type="business", content={"k": "weather report"}, name="w")
        names("weather", keyword_search=False, similarity_threshold=0.0)
        vocabulary = engine.current_encoder().vocabulary
    assert "weather" in vocabulary
    assert "parcel" not in vocabulary and "customer_orders" not in vocabulary


def test_api_search_cannot_name_another_tenant(
    alpha_catalogue, beta_owner, tenant_beta, tenant_alpha
):
    client = api_as(beta_owner)
    for path in ("/metadata/search", "/api/v1/metadata/search/"):
        refused = client.post(
            path, {"query": "customer orders", "tenant_id": tenant_alpha.slug}, format="json"
        )
        assert refused.status_code in (403, 404)
        assert "customer_orders" not in refused.content.decode()
    own = api_as(beta_owner, tenant_beta).post(
        "/api/v1/metadata/search/",
        {"query": "customer orders", "similarity_threshold": 0.0},
        format="json",
    )
    assert own.status_code == 200 and own.json()["results"] == []


def test_facade_search_is_per_tenant(alpha_catalogue, tenant_alpha, tenant_beta):
    from managers import MetadataManager, MetadataSearch

    manager = MetadataManager()
    found = manager.search_metadata_sync(tenant_alpha.slug, MetadataSearch("customer orders"))
    assert found[0]["name"] == "customer_orders"
    assert manager.search_metadata_sync(tenant_beta.slug, MetadataSearch("customer orders")) == []
