"""The cache over the API and in the console: admins only, the caller's tenant only,
bad namespaces answered with a 400 that says the rule."""

import pytest

from cache_mgr import api as cache
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
STATS = "/api/v1/cache/stats"
INVALIDATE = "/api/v1/cache/invalidate"


def test_cache_api_stats_are_the_callers_tenants(tenant_alpha, tenant_beta, alpha_admin, coherent):
    with tenant_context(tenant_alpha):
        cache.set("k", 1, namespace="metadata")
    with tenant_context(tenant_beta):
        cache.set("k", 1, namespace="sessions")
    response = api_as(alpha_admin, tenant_alpha).get(STATS)
    assert response.status_code == 200
    assert [r["namespace"] for r in response.json()["namespaces"]] == ["metadata"]


def test_cache_api_needs_the_admin_role(tenant_alpha, alpha_viewer):
    client = api_as(alpha_viewer, tenant_alpha)
    assert client.get(STATS).status_code == 403
    assert client.post(INVALIDATE, {}, format="json").status_code == 403


def test_cache_api_invalidates_a_namespace(tenant_alpha, alpha_admin, coherent):
    with tenant_context(tenant_alpha):
        cache.set("k", 1, namespace="metadata")
    response = api_as(alpha_admin, tenant_alpha).post(
        INVALIDATE, {"namespace": "metadata"}, format="json"
    )
    assert response.status_code == 200 and response.json()["namespace"] == "metadata"
    with tenant_context(tenant_alpha):
        assert cache.get("k", namespace="metadata") is None


def test_cache_api_refuses_a_bad_namespace(tenant_alpha, alpha_admin):
    response = api_as(alpha_admin, tenant_alpha).post(
        INVALIDATE, {"namespace": "Not Valid!"}, format="json"
    )
    assert response.status_code == 400
    assert "starting with a letter" in response.content.decode()


def test_cache_console_page_for_admins(client, tenant_alpha, alpha_admin, coherent):
    with tenant_context(tenant_alpha):
        cache.set("k", 1, namespace="metadata")
        cache.get("k", namespace="metadata")
    client.force_login(alpha_admin)
    page = client.get("/console/cache/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-namespace="metadata"' in html
    response = client.post("/console/cache/invalidate/", {"namespace": "metadata"})
    assert response.status_code == 302
    with tenant_context(tenant_alpha):
        assert cache.get("k", namespace="metadata") is None


def test_cache_console_page_refuses_viewers(client, alpha_viewer):
    client.force_login(alpha_viewer)
    assert client.get("/console/cache/").status_code == 403
    assert client.post("/console/cache/invalidate/", {}).status_code == 403
