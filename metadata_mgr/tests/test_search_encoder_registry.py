"""The TF-IDF search encoder versioned by the tenant's AI registry: its arrays give the
fitted pipeline's vectors, indexing and refits register (audited promotions), reads only
load, every process encodes with the champion, and erasure removes its artifacts."""

import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from ai_mgr import actions as ai_actions
from ai_mgr import artifacts, loader
from ai_mgr.models import AliasEvent, MLModel, ModelAlias, ModelVersion
from audit_mgr.models import AuditEntry
from metadata_mgr import search_engine as engine
from metadata_mgr.actions import do_create_record
from metadata_mgr.actions.search_index import do_reencode, do_refit_encoder
from metadata_mgr.models import SearchDocument
from metadata_mgr.search import encoder_registry, encoders
from metadata_mgr.search.encoders import TfidfSvdEncoder, _unit
from metadata_mgr.search.query import MetadataSearch
from metadata_mgr.tests.search_data import make_catalogue

pytestmark = pytest.mark.django_db
MODEL = encoder_registry.MODEL


@pytest.fixture
def tfidf(settings):
    settings.METADATA_SEARCH_ENCODER = "tfidf"


def names(query, **options):
    return [hit["name"] for hit in engine.search(MetadataSearch(query, **options))]


def _audited(event):
    import audit_mgr

    audit_mgr.flush()
    return AuditEntry.objects.filter(event=event).exists()


def _new_process():
    """What a fresh worker process holds: nothing cached."""
    encoders.forget()
    encoder_registry.forget()
    loader.forget_all()


def _corpus(n, seed=0):
    rng = np.random.default_rng(seed)
    words = [f"term{i}" for i in range(400)]
    return [" ".join(rng.choice(words, 15)) for _ in range(n)]


@pytest.mark.parametrize("size", [30, 300])  # below and above the SVD threshold
def test_tfidf_arrays_give_the_fitted_pipelines_vectors(size):
    corpus = _corpus(size)
    fitted = TfidfSvdEncoder(corpus, dim=64)
    assert (fitted.svd is not None) == (size >= 128)
    queries = corpus[:7] + ["term1 term2 never-seen", "", "nothing known"]
    matrix = fitted.vectorizer.transform(queries)
    expected = fitted.svd.transform(matrix) if fitted.svd is not None else matrix.toarray()
    # Through the registry's own artifact format (.npz, no pickle).
    loaded = TfidfSvdEncoder.from_arrays(artifacts.unpack(artifacts.pack(fitted.arrays())))
    assert loaded.name == fitted.name and loaded.dim == fitted.dim == expected.shape[1]
    np.testing.assert_allclose(loaded.project(queries), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(fitted.project(queries), expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(loaded.encode(queries), _unit(expected))


def test_tfidf_from_arrays_refuses_mismatched_arrays():
    arrays = TfidfSvdEncoder(_corpus(300), dim=16).arrays()
    arrays["idf"] = arrays["idf"][:-1]
    with pytest.raises(ValueError, match="differ in length"):
        TfidfSvdEncoder.from_arrays(arrays)


def test_indexing_registers_the_encoder_as_the_tenants_champion(in_alpha, tfidf):
    make_catalogue()
    assert engine.catch_up() == 5
    model = MLModel.objects.get(name=MODEL)
    assert model.kind == "search_encoder"
    version = ModelVersion.objects.get(model=model)
    assert ModelAlias.objects.get(model=model, name="champion").version == version
    used = set(SearchDocument.objects.values_list("encoder", flat=True))
    assert used == {version.params["encoder"]}
    # Lineage: how many texts it was fitted on, and their fingerprint.
    assert version.data_rows == 5 and len(version.data_fingerprint) == 64
    assert version.metrics["vocabulary"] > 10
    event = AliasEvent.objects.get(model=model)
    assert event.action == "promoted" and event.version == version
    assert _audited("ai.model.promoted")
    # More indexing reuses the champion: no new version.
    do_create_record(metadata_type="business", content={"x": "weather forecast"}, name="w")
    engine.catch_up()
    assert ModelVersion.objects.filter(model=model).count() == 1


def test_search_without_a_registered_encoder_writes_nothing(in_alpha, tfidf):
    assert names("orders", keyword_search=False, similarity_threshold=0.0) == []
    assert not MLModel.objects.exists() and not ModelVersion.objects.exists()


def test_every_process_encodes_with_the_registered_champion(in_alpha, tfidf):
    make_catalogue()
    engine.catch_up()
    name = SearchDocument.objects.first().encoder
    do_create_record(metadata_type="business", content={"x": "weather forecast"}, name="w")
    engine.catch_up()
    # A new process (a restart, another worker) with a different corpus now: it still
    # encodes with the champion, so the stored vectors and its queries match.
    _new_process()
    assert engine.current_encoder().name == name
    assert names("clients purchases", keyword_search=False, similarity_threshold=0.0)


def test_refit_promotes_a_new_version_and_rollback_restores_the_old(in_alpha, tfidf):
    make_catalogue()
    engine.catch_up()
    first = SearchDocument.objects.first().encoder
    do_create_record(metadata_type="business", content={"x": "weather forecast"}, name="w")
    engine.catch_up()
    assert do_refit_encoder(actor="ops") == 6
    model = MLModel.objects.get(name=MODEL)
    champion = ModelAlias.objects.get(model=model, name="champion").version
    assert champion.number == 2 and champion.data_rows == 6 and champion.trained_by == "ops"
    assert set(SearchDocument.objects.values_list("encoder", flat=True)) == {
        champion.params["encoder"]
    }
    assert names("weather", keyword_search=False, similarity_threshold=0.1)[0] == "w"
    # The registry decides: rolling the champion back re-encodes with version 1.
    ai_actions.rollback(MODEL, actor="ops", reason="bad refit")
    assert engine.current_encoder().name == first
    assert do_reencode() == 6
    assert set(SearchDocument.objects.values_list("encoder", flat=True)) == {first}


def test_periodic_indexer_follows_a_champion_moved_through_the_registry(in_alpha, tfidf):
    from metadata_mgr.tasks import index_search_task

    make_catalogue()
    assert index_search_task() == 5  # indexed; the documents already use the champion
    first = SearchDocument.objects.first().encoder
    do_create_record(metadata_type="business", content={"x": "weather forecast"}, name="w")
    engine.catch_up()
    do_refit_encoder()
    refit = SearchDocument.objects.first().encoder
    assert refit != first
    # Promoting (here: rolling back) through the AI registry is enough: the next
    # periodic run re-encodes every document with the new champion, once.
    ai_actions.rollback(MODEL, actor="ops")
    assert index_search_task() == 6
    assert set(SearchDocument.objects.values_list("encoder", flat=True)) == {first}
    assert index_search_task() == 0
    assert names("weather", similarity_threshold=0.0)[0] == "w"


def test_periodic_indexer_registers_nothing_for_a_tenant_without_records(in_alpha, tfidf):
    from metadata_mgr.tasks import index_search_task

    assert index_search_task() == 0
    assert not MLModel.objects.exists()


def test_tampered_encoder_is_refused_and_search_still_answers(in_alpha, tfidf):
    make_catalogue()
    engine.catch_up()
    version = ModelVersion.objects.get(model__name=MODEL)
    data = bytearray(bytes(version.artifact))
    data[-40] ^= 0xFF
    ModelVersion.objects.filter(pk=version.pk).update(artifact=bytes(data))
    _new_process()
    assert names("parcel", semantic_search=False) == ["shipping_events"]
    assert names("parcel", similarity_threshold=0.0)[0] == "shipping_events"
    assert ModelVersion.objects.filter(model__name=MODEL).count() == 1  # nothing replaced it
    # The operator's way out: a refit registers a sound champion and re-encodes.
    do_create_record(metadata_type="business", content={"x": "weather forecast"}, name="w")
    call_command("refit_metadata_encoder", "--tenant", in_alpha.slug, stdout=io.StringIO())
    champion = ModelAlias.objects.get(model__name=MODEL, name="champion").version
    assert champion.number == 2
    assert set(SearchDocument.objects.values_list("encoder", flat=True)) == {
        champion.params["encoder"]
    }  # the pending record indexed too, with the new champion
    assert SearchDocument.objects.count() == 6
    assert names("clients purchases", keyword_search=False, similarity_threshold=0.0)
    with pytest.raises(CommandError):
        call_command("refit_metadata_encoder", "--tenant", "no-such-tenant")


def test_search_index_drop_erases_the_encoder_and_its_files(
    in_alpha, tfidf, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tenancy import hooks

    settings.AI_ARTIFACT_STORAGE = "file"
    settings.AI_ARTIFACT_ROOT = str(tmp_path)
    make_catalogue()
    engine.catch_up()
    do_refit_encoder()
    files = [p for p in tmp_path.rglob("*.npz")]
    assert len(files) == 2
    assert b"parcel" in b"".join(p.read_bytes() for p in files)  # the tenant's words
    with django_capture_on_commit_callbacks(execute=True):  # files go at the commit
        hooks.drop_search_index.call(None)
    assert not [p for p in tmp_path.rglob("*.npz")]
    assert not MLModel.objects.filter(name=MODEL).exists()
    assert not ModelVersion.objects.exists() and not AliasEvent.objects.exists()
    assert _audited("ai.model.deleted")
    with pytest.raises(Exception, match="no model named"):
        loader.load(MODEL)


def test_tfidf_vocabulary_is_capped_so_the_artifact_stays_bounded(settings):
    settings.METADATA_TFIDF_MAX_TERMS = 150
    corpus = _corpus(300)  # 400 words and their bigrams: thousands of terms uncapped
    capped = TfidfSvdEncoder(corpus, dim=16)
    uncapped = TfidfSvdEncoder(corpus, dim=16, max_terms=10**9)
    assert len(capped.vocabulary) == 150 < len(uncapped.vocabulary)
    assert capped.arrays()["components"].shape == (16, 150)
    # The capped encoder still round-trips through the registry's format exactly.
    loaded = TfidfSvdEncoder.from_arrays(artifacts.unpack(artifacts.pack(capped.arrays())))
    np.testing.assert_array_equal(loaded.encode(corpus[:5]), capped.encode(corpus[:5]))
