"""Attacks on metadata search as a second tenant would try them (all held, kept as
regression tests): full-text operator syntax in the query, an in-process index served
to the wrong tenant (forged into the registry, evicted and reloaded under a tiny
memory budget), the periodic indexer sent from another tenant's context, deleted and
sensitive records, and the seed alias naming another tenant by slug or by id."""

from __future__ import annotations

import pytest

from metadata_mgr import search_engine as engine
from metadata_mgr.models import MetadataOutbox, SearchDocument
from metadata_mgr.search import ann
from metadata_mgr.search.query import MetadataSearch
from metadata_mgr.tests.search_data import make_catalogue
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db

HYBRID = {"similarity_threshold": 0.0, "limit": 50}


@pytest.fixture
def alpha_catalogue(tenant_alpha):
    with tenant_context(tenant_alpha):
        made = make_catalogue()
        engine.catch_up()
    return made


def _ids(hits) -> set[str]:
    return {h["id"] for h in hits}


@pytest.mark.parametrize(
    "query",
    [
        "customer | orders",
        "customer:* & !nothing",
        '"customer" OR "orders"',
        "customer) OR (1=1",
        "orders' OR tenant_id <> 0 --",
        "NEAR(customer orders) * ^",
    ],
)
def test_search_syntax_in_the_query_reaches_no_other_tenants_rows(
    alpha_catalogue, tenant_beta, beta_owner, query
):
    alpha_ids = {str(r.pk) for r in alpha_catalogue.values()}
    with tenant_context(tenant_beta):
        assert engine.search(MetadataSearch(query, **HYBRID)) == []
    answer = api_as(beta_owner, tenant_beta).post(
        "/api/v1/metadata/search/", {"query": query, **HYBRID}, format="json"
    )
    assert answer.status_code == 200
    assert not _ids(answer.json()["results"]) & alpha_ids


def test_a_foreign_index_in_the_registry_is_caught_by_the_store_check(
    alpha_catalogue, tenant_alpha, tenant_beta
):
    """Defence in depth: were alpha's loaded index ever served under beta's id, the
    re-check against the scoped records drops every hit."""
    with tenant_context(tenant_alpha):
        assert engine.search(MetadataSearch("orders", keyword_search=False, **HYBRID))
    alpha_index = ann.registry.indexes[tenant_alpha.pk]
    ann.registry.indexes[tenant_beta.pk] = alpha_index
    alpha_index.tenant_id = tenant_beta.pk  # a forged entry, as a keying bug would make
    with tenant_context(tenant_beta):
        assert alpha_index.search(engine.query_vector("orders", engine.current_encoder()), 5)
        assert engine.search(MetadataSearch("orders", keyword_search=False, **HYBRID)) == []


def test_eviction_and_reload_never_mix_tenants(
    alpha_catalogue, tenant_alpha, tenant_beta, settings
):
    settings.METADATA_SEARCH_INDEX_BUDGET_BYTES = 1  # every load evicts the others
    alpha_ids = {str(r.pk) for r in alpha_catalogue.values()}
    semantic = {"keyword_search": False, **HYBRID}
    with tenant_context(tenant_alpha):
        first = _ids(engine.search(MetadataSearch("orders", **semantic)))
    with tenant_context(tenant_beta):
        from metadata_mgr.actions import do_create_record

        mine = do_create_record(metadata_type="business", content={"k": "orders"}, name="b")
        assert _ids(engine.search(MetadataSearch("orders", **semantic))) == {str(mine.pk)}
    assert ann.registry.loaded() == [tenant_beta.pk]
    with tenant_context(tenant_alpha):  # reloaded from alpha's own documents
        assert _ids(engine.search(MetadataSearch("orders", **semantic))) == first
        assert set(ann.registry.indexes[tenant_alpha.pk].row_of) == alpha_ids
    assert ann.registry.loaded() == [tenant_alpha.pk]


def test_the_indexer_task_sent_from_another_tenant_applies_only_that_tenants_outbox(
    tenant_alpha, tenant_beta
):
    from metadata_mgr.tasks import index_search_task

    with tenant_context(tenant_alpha):
        make_catalogue()
        pending = MetadataOutbox.objects.count()
        assert pending
    with tenant_context(tenant_beta):
        assert index_search_task.apply().get() == 0
        assert SearchDocument.objects.count() == 0
    with tenant_context(tenant_alpha):
        assert MetadataOutbox.objects.count() == pending
        assert SearchDocument.objects.count() == 0


def test_deleted_and_sensitive_records_are_never_found(alpha_catalogue, tenant_alpha):
    from metadata_mgr.actions import do_create_record, do_delete_record

    with tenant_context(tenant_alpha):
        secret = do_create_record(
            metadata_type="business",
            content={"k": "zanzibar clove"},
            name="secret_spice",
            sensitive=True,
        )
        gone = alpha_catalogue["customer_orders"]
        do_delete_record(gone.pk)
        for query in ("zanzibar clove", "secret_spice", "customer orders"):
            found = _ids(engine.search(MetadataSearch(query, **HYBRID)))
            assert str(secret.pk) not in found and str(gone.pk) not in found
        assert not SearchDocument.objects.filter(record_id=secret.pk, active=True).exists()
        assert not SearchDocument.objects.filter(text__icontains="zanzibar").exists()


@pytest.mark.parametrize("path", ["/metadata/search", "/api/v1/metadata/search/"])
def test_the_seed_alias_cannot_name_another_tenant_by_any_reference(
    alpha_catalogue, tenant_alpha, tenant_beta, beta_owner, path
):
    beta = api_as(beta_owner, tenant_beta)
    answers = {
        ref: beta.post(path, {"query": "customer orders", "tenant_id": ref}, format="json")
        for ref in (tenant_alpha.slug, str(tenant_alpha.pk), tenant_alpha.pk, "no-such-tenant")
    }
    for ref, answer in answers.items():
        assert answer.status_code in (400, 403, 404), (ref, answer.status_code)
        assert "customer_orders" not in answer.content.decode()
    # Naming alpha answers as naming nobody: the slug tells nothing.
    assert answers[tenant_alpha.slug].status_code == answers["no-such-tenant"].status_code
