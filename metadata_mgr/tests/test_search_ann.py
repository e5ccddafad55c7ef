"""The in-process ANN index against the oracle, exact brute force; dead rows; the
memory budget across tenants."""

import numpy as np
import pytest

from metadata_mgr.search.ann import TenantIndex, registry


def unit(rows):
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def docs(vectors, start=0, active=True):
    import datetime

    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for i, v in enumerate(vectors, start=start):
        yield (f"r{i}", active, v.tobytes(), "enc", at + datetime.timedelta(microseconds=i))


def oracle(vectors, ids, query, k):
    scores = vectors @ query
    top = np.argsort(-scores)[:k]
    return [ids[i] for i in top]


@pytest.fixture
def hnsw_from_200(settings):
    settings.METADATA_SEARCH_ANN_MIN = 200


def test_hnsw_agrees_with_exact_brute_force(hnsw_from_200):
    rng = np.random.default_rng(7)
    vectors = unit(rng.standard_normal((1500, 32)))
    index = TenantIndex(1, "enc", 32)
    index.apply(docs(vectors))
    assert index.hnsw is not None
    recall = []
    for query in unit(rng.standard_normal((30, 32))):
        got = [rid for rid, _s in index.search(query, 10)]
        want = oracle(vectors, [f"r{i}" for i in range(1500)], query, 10)
        recall.append(len(set(got) & set(want)) / 10)
    assert np.mean(recall) >= 0.95
    # Scores are the cosine similarities themselves.
    rid, score = index.search(vectors[3], 1)[0]
    assert rid == "r3" and score == pytest.approx(1.0, abs=1e-5)


def test_exact_below_the_threshold_matches_the_oracle(settings):
    settings.METADATA_SEARCH_ANN_MIN = 10_000
    rng = np.random.default_rng(1)
    vectors = unit(rng.standard_normal((300, 16)))
    index = TenantIndex(1, "enc", 16)
    index.apply(docs(vectors))
    assert index.hnsw is None
    query = unit(rng.standard_normal((1, 16)))[0]
    got = [rid for rid, _s in index.search(query, 10)]
    assert got == oracle(vectors, [f"r{i}" for i in range(300)], query, 10)


def test_changed_and_removed_rows_are_never_returned(hnsw_from_200):
    rng = np.random.default_rng(3)
    vectors = unit(rng.standard_normal((400, 16)))
    index = TenantIndex(1, "enc", 16)
    index.apply(docs(vectors))
    import datetime

    later = datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
    index.apply([("r5", False, None, "", later)])
    moved = unit(rng.standard_normal((1, 16)))[0]
    index.apply([("r6", True, moved.tobytes(), "enc", later)])
    assert all(rid != "r5" for rid, _s in index.search(vectors[5], 50))
    top = index.search(moved, 1)[0]
    assert top[0] == "r6" and top[1] == pytest.approx(1.0, abs=1e-5)
    assert index.search(vectors[6], 1)[0][0] != "r6" or index.search(vectors[6], 1)[0][1] < 0.99
    # A vector from another encoder is not taken in.
    index.apply([("r7", True, moved.tobytes(), "other", later)])
    assert "r7" not in {rid for rid, _s in index.search(vectors[7], 400)}


def test_many_removals_compact_the_index(hnsw_from_200):
    import datetime

    rng = np.random.default_rng(4)
    vectors = unit(rng.standard_normal((400, 16)))
    index = TenantIndex(1, "enc", 16)
    index.apply(docs(vectors))
    later = datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC)
    index.apply([(f"r{i}", False, None, "", later) for i in range(200)])
    assert index.dead == set() and index.live == 200 and len(index.ids) == 200
    assert all(int(rid[1:]) >= 200 for rid, _s in index.search(vectors[0], 50))


@pytest.mark.django_db
def test_memory_budget_evicts_the_least_recently_used_tenant(tenant_alpha, tenant_beta, settings):
    from metadata_mgr import search_engine as engine
    from metadata_mgr.search.query import MetadataSearch
    from metadata_mgr.tests.search_data import make_catalogue
    from tenancy.context import tenant_context

    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            make_catalogue()
            engine.search(MetadataSearch("orders", similarity_threshold=0.0))
    assert registry.loaded() == [tenant_alpha.pk, tenant_beta.pk]
    settings.METADATA_SEARCH_INDEX_BUDGET_BYTES = 1  # room for one index only
    with tenant_context(tenant_alpha):
        hits = engine.search(MetadataSearch("orders", keyword_search=False, similarity_threshold=0))
    assert registry.loaded() == [tenant_alpha.pk]
    # Reloaded lazily from the stored vectors.
    assert registry.indexes[tenant_alpha.pk].live == 5 and hits[0]["name"] == "customer_orders"
