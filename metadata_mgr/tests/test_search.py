"""Search: keyword, semantic and hybrid, one ranked list, never stale: deleted,
soft-deleted and sensitive records are never returned, changes are visible to the next
search, and results are re-checked against the store even when an index lags."""

import numpy as np
import pytest

from metadata_mgr import search_engine as engine
from metadata_mgr.actions import (
    do_create_record,
    do_delete_record,
    do_restore_record,
    do_update_record,
)
from metadata_mgr.models import MetadataOutbox, SearchDocument
from metadata_mgr.search.query import MetadataSearch
from metadata_mgr.tests.search_data import make_catalogue

pytestmark = pytest.mark.django_db


def names(query, **options):
    return [hit["name"] for hit in engine.search(MetadataSearch(query, **options))]


def test_keyword_search_finds_words_and_stems(in_alpha):
    make_catalogue()
    assert names("parcel", semantic_search=False) == ["shipping_events"]
    # "departments" is stored; "department" matches it (stemming on both databases).
    assert names("department", semantic_search=False) == ["employee_directory"]
    assert names("zebra", semantic_search=False) == []


def test_semantic_search_finds_meaning_without_shared_words(in_alpha):
    make_catalogue()
    hits = names("clients purchases", keyword_search=False, similarity_threshold=0.2)
    assert hits[0] == "customer_orders"
    assert names("clients purchases", semantic_search=False) == []


def test_threshold_applies_to_cosine_similarity(in_alpha):
    make_catalogue()
    hits = engine.search(
        MetadataSearch("package delivery", keyword_search=False, similarity_threshold=0.0)
    )
    assert len(hits) >= 2  # everything at cosine >= 0
    assert all(0.0 <= h["similarity"] <= 1.0 for h in hits)
    assert [h["similarity"] for h in hits] == sorted((h["similarity"] for h in hits), reverse=True)
    cut = hits[0]["similarity"] - 0.0001
    kept = engine.search(
        MetadataSearch("package delivery", keyword_search=False, similarity_threshold=cut)
    )
    assert [h["name"] for h in kept] == [hits[0]["name"]]
    assert names("package delivery", keyword_search=False, similarity_threshold=1.0) == []


def test_hybrid_fuses_keyword_and_semantic_ranks(in_alpha):
    make_catalogue()
    hits = engine.search(MetadataSearch("user email", similarity_threshold=0.0, limit=5))
    top = hits[0]
    assert top["name"] == "user_schema" and top["keyword_rank"] == 1 and top["similarity"]
    # Fused score = 1/(60 + keyword rank) + 1/(60 + semantic rank).
    assert top["score"] == pytest.approx(2 / 61, abs=1e-6)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_type_filter_and_limit(in_alpha):
    make_catalogue()
    hits = names("data", similarity_threshold=0.0, metadata_type="business")
    assert set(hits) == {"revenue_kpis", "employee_directory"}
    assert len(names("data", similarity_threshold=0.0, limit=2)) == 2


def test_soft_deleted_record_is_never_returned_and_comes_back_on_restore(in_alpha):
    made = make_catalogue()
    do_delete_record(made["shipping_events"].pk)
    assert "shipping_events" not in names("parcel delivery", similarity_threshold=0.0)
    assert not SearchDocument.objects.get(record_id=made["shipping_events"].pk).active
    do_restore_record(made["shipping_events"].pk)
    assert names("parcel", semantic_search=False) == ["shipping_events"]


def test_results_are_rechecked_against_the_store_when_the_index_lags(in_alpha, monkeypatch):
    made = make_catalogue()
    assert "shipping_events" in names("parcel", similarity_threshold=0.0)
    monkeypatch.setattr(engine, "catch_up", lambda *a, **k: 0)  # the indexer is behind
    do_delete_record(made["shipping_events"].pk)
    assert MetadataOutbox.objects.filter(record_id=made["shipping_events"].pk).exists()
    assert "shipping_events" not in names("parcel", similarity_threshold=0.0)
    assert SearchDocument.objects.get(record_id=made["shipping_events"].pk).active  # stale doc


def test_an_update_is_visible_to_the_next_search(in_alpha):
    made = make_catalogue()
    assert names("lighthouse", semantic_search=False) == []
    do_update_record(made["revenue_kpis"].pk, content={"kpi": "lighthouse visitor counts"})
    assert names("lighthouse", semantic_search=False) == ["revenue_kpis"]
    assert names("quarterly", semantic_search=False) == []
    semantic = engine.search(
        MetadataSearch("lighthouse visitors", keyword_search=False, similarity_threshold=0.0)
    )
    assert semantic[0]["name"] == "revenue_kpis"


def test_sensitive_records_are_never_indexed(in_alpha):
    secret = do_create_record(
        metadata_type="business",
        content={"salary": "zanzibar bonus scheme"},
        name="payroll",
        sensitive=True,
    )
    assert names("zanzibar", similarity_threshold=0.0) == []
    doc = SearchDocument.objects.get(record_id=secret.pk)
    assert (doc.active, doc.text, doc.embedding) == (False, "", None)
    # Made non-sensitive, it becomes searchable; sensitive again, it leaves.
    do_update_record(secret.pk, sensitive=False)
    assert names("zanzibar", semantic_search=False) == ["payroll"]
    do_update_record(secret.pk, sensitive=True)
    assert names("zanzibar", similarity_threshold=0.0) == []
    assert SearchDocument.objects.get(record_id=secret.pk).text == ""


def test_vectors_in_the_store_are_unit_length_and_tagged(in_alpha):
    make_catalogue()
    for doc in SearchDocument.objects.all():
        vector = np.frombuffer(bytes(doc.embedding), dtype=np.float32)
        assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
        assert doc.encoder == "minilm-l6-v2-int8"


def test_the_query_embedding_is_cached_per_tenant(in_alpha, monkeypatch):
    make_catalogue()
    names("clients purchases", keyword_search=False, similarity_threshold=0.0)
    encoder = engine.current_encoder()
    calls = []
    original = type(encoder).encode
    monkeypatch.setattr(
        type(encoder), "encode", lambda self, texts: calls.append(texts) or original(self, texts)
    )
    names("clients purchases", keyword_search=False, similarity_threshold=0.0)
    assert calls == []  # served from the cache
    names("other words", keyword_search=False, similarity_threshold=0.0)
    assert calls == [["other words"]]


def test_tfidf_fallback_encoder(in_alpha, settings):
    settings.METADATA_SEARCH_ENCODER = "tfidf"
    made = make_catalogue()
    assert engine.catch_up() == 5
    doc = SearchDocument.objects.get(record_id=made["user_schema"].pk)
    assert doc.encoder.startswith("tfidf-svd:")
    hits = names("users email", keyword_search=False, similarity_threshold=0.1)
    assert hits[0] == "user_schema"
    # A refit (more records) re-encodes every document with the new encoder.
    from metadata_mgr.actions.search_index import do_refit_encoder

    do_create_record(metadata_type="business", content={"x": "weather forecast"}, name="w")
    engine.catch_up()
    assert do_refit_encoder() == 6
    assert len(set(SearchDocument.objects.values_list("encoder", flat=True))) == 1
    assert names("weather", keyword_search=False, similarity_threshold=0.1)[0] == "w"


def test_periodic_indexer_applies_the_outbox(in_alpha):
    from metadata_mgr.tasks import index_search_task

    made = make_catalogue()
    do_delete_record(made["customer_orders"].pk)
    assert index_search_task() == 6  # five creations and one deletion
    assert SearchDocument.objects.filter(active=True).count() == 4
    assert not MetadataOutbox.objects.exists()
    assert index_search_task() == 0


def test_tfidf_stands_in_when_the_model_cannot_load(in_alpha, monkeypatch):
    from metadata_mgr.search import encoders

    def broken():
        raise ImportError("onnxruntime is not installed")

    monkeypatch.setattr(encoders, "minilm", broken)
    make_catalogue()
    assert names("users email", keyword_search=False, similarity_threshold=0.1)[0] == (
        "user_schema"
    )
    assert SearchDocument.objects.first().encoder.startswith("tfidf-svd:")
