import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenancy.context import tenant_context
from tenancy.models import Tenant, TenantSetting, TenantState
from tests.personas import api_as


def _error(response):
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


@pytest.mark.django_db
def test_list_is_scoped_and_paginated(alpha_owner, tenant_alpha, overlapping_settings):
    with tenant_context(tenant_alpha):
        for i in range(5):
            TenantSetting.objects.create(key=f"k.{i}", value=i)
    body = api_as(alpha_owner).get("/api/v1/settings/?page_size=2").json()
    assert body["count"] == 6 and len(body["results"]) == 2 and body["next"]
    assert all(r["value"] != {"level": "critical"} for r in body["results"])


@pytest.mark.django_db
def test_create_and_duplicate_key_is_400_not_500(alpha_owner, tenant_alpha, overlapping_settings):
    client = api_as(alpha_owner)
    created = client.post(
        "/api/v1/settings/", {"key": "mfa.required", "value": True}, format="json"
    )
    assert created.status_code == 201, created.content
    duplicate = client.post("/api/v1/settings/", {"key": "session.policy"}, format="json")
    assert duplicate.status_code == 400
    error = _error(duplicate)
    assert error["code"] == "invalid" and "fields" in error
    with tenant_context(tenant_alpha):
        assert TenantSetting.objects.get(key="session.policy").value == {"level": "high"}


@pytest.mark.django_db
def test_invalid_key_is_a_field_error(alpha_owner):
    response = api_as(alpha_owner).post("/api/v1/settings/", {"key": "Bad Key!"}, format="json")
    assert response.status_code == 400 and "key" in _error(response)["fields"]


@pytest.mark.django_db
def test_viewer_can_read_but_not_write(alpha_viewer, overlapping_settings):
    client = api_as(alpha_viewer)
    assert client.get("/api/v1/settings/").status_code == 200
    response = client.post("/api/v1/settings/", {"key": "x.y"}, format="json")
    assert response.status_code == 403 and _error(response)["code"] == "permission_denied"


@pytest.mark.django_db
def test_anonymous_is_refused_with_error_format(api):
    response = api.get("/api/v1/settings/")
    assert response.status_code in (401, 403)
    assert _error(response)["code"] in ("not_authenticated", "authentication_failed")


@pytest.mark.django_db
def test_user_in_several_tenants_must_choose(member_of_both, overlapping_settings, tenant_beta):
    response = api_as(member_of_both).get("/api/v1/settings/")
    assert response.status_code == 400 and _error(response)["code"] == "tenant_required"
    chosen = api_as(member_of_both, tenant_beta).get("/api/v1/settings/").json()
    assert [r["value"] for r in chosen["results"]] == [{"level": "critical"}]


@pytest.mark.django_db
def test_unknown_and_foreign_tenant_answer_alike(alpha_owner, tenant_beta):
    client = api_as(alpha_owner)
    foreign = client.get("/api/v1/settings/", HTTP_X_TENANT=tenant_beta.slug)
    unknown = client.get("/api/v1/settings/", HTTP_X_TENANT="no-such-tenant")
    assert foreign.status_code == unknown.status_code == 403
    assert foreign.content == unknown.content


@pytest.mark.django_db
def test_suspended_tenant_is_refused_and_nothing_written(alpha_owner, tenant_alpha):
    tenant_alpha.state = TenantState.SUSPENDED
    tenant_alpha.save(update_fields=["state"])
    response = api_as(alpha_owner).post("/api/v1/settings/", {"key": "x.y"}, format="json")
    assert response.status_code == 403 and _error(response)["code"] == "tenant_inactive"
    with tenant_context(tenant_alpha):
        assert not TenantSetting.objects.exists()


@pytest.mark.django_db
def test_user_without_membership_is_refused(db):
    from django.contrib.auth import get_user_model

    from tests.personas import PASSWORD

    loner = get_user_model().objects.create_user("loner", password=PASSWORD)
    response = api_as(loner).get("/api/v1/settings/")
    assert response.status_code == 403 and _error(response)["code"] == "no_tenant_membership"


@pytest.mark.django_db
@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(header=st.text(min_size=0, max_size=80).filter(lambda s: "\n" not in s and "\r" not in s))
def test_any_tenant_header_is_a_clear_4xx_or_ok(alpha_owner, tenant_alpha, header):
    response = api_as(alpha_owner).post(
        "/api/v1/settings/", {"key": "fuzz.key"}, format="json", HTTP_X_TENANT=header
    )
    if header.strip() == tenant_alpha.slug:
        assert response.status_code in (201, 400)
        with tenant_context(tenant_alpha):
            TenantSetting.objects.filter(key="fuzz.key").delete()
        return
    assert 400 <= response.status_code < 500, (header, response.content)
    assert _error(response)["code"] in {"invalid_tenant", "tenant_not_accessible"}
    with tenant_context(tenant_alpha):
        assert not TenantSetting.objects.filter(key="fuzz.key").exists()
    assert Tenant.objects.count() == 1


@pytest.mark.django_db
def test_unknown_api_url_is_json_404(alpha_owner):
    response = api_as(alpha_owner).get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and _error(response)["code"] == "not_found"


@pytest.mark.django_db
def test_me_works_without_choosing_a_tenant(member_of_both):
    body = api_as(member_of_both).get("/api/v1/me/").json()
    assert body["current_tenant"] is None
    assert sorted(m["tenant"]["slug"] for m in body["memberships"]) == ["alpha", "beta"]


@pytest.mark.django_db
def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/settings/" in schema.content
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_isolation_report_is_for_platform_operators(alpha_owner, superuser):
    assert api_as(alpha_owner).get("/api/v1/isolation/report/").status_code == 403
    body = api_as(superuser).get("/api/v1/isolation/report/").json()
    assert body["ok"] is True


@pytest.mark.django_db
def test_membership_changes_take_effect_at_once(
    alpha_owner, tenant_alpha, settings, overlapping_settings
):
    from tenancy.models import Membership

    settings.TENANT_RESOLUTION_CACHE_SECONDS = 300  # cached resolution, on any backend
    client = api_as(alpha_owner)
    assert client.get("/api/v1/settings/").status_code == 200
    tenant_alpha.state = TenantState.SUSPENDED
    tenant_alpha.save(update_fields=["state"])
    assert client.get("/api/v1/settings/").status_code == 403
    tenant_alpha.state = TenantState.ACTIVE
    tenant_alpha.save(update_fields=["state"])
    assert client.get("/api/v1/settings/").status_code == 200
    with tenant_context(tenant_alpha):  # memberships are written in their tenant's context
        Membership.objects.filter(user=alpha_owner).delete()
    response = client.get("/api/v1/settings/")
    assert response.status_code == 403 and _error(response)["code"] == "no_tenant_membership"


@pytest.mark.django_db
def test_membership_revoked_inside_a_tenant_context_takes_effect(
    alpha_owner, tenant_alpha, settings
):
    from tenancy.models import Membership

    settings.TENANT_RESOLUTION_CACHE_SECONDS = 300
    client = api_as(alpha_owner)
    assert client.get("/api/v1/tenant/").status_code == 200
    with tenant_context(tenant_alpha):  # e.g. an admin action in the console
        Membership.objects.get(user=alpha_owner).delete()
    assert client.get("/api/v1/tenant/").status_code == 403


@pytest.mark.django_db
def test_cache_generation_bump_reaches_requests(alpha_owner, tenant_alpha, settings):
    from django.core.cache import cache

    from tenancy.actions import do_bump_tenant_cache_generation

    settings.TENANT_RESOLUTION_CACHE_SECONDS = 300
    client = api_as(alpha_owner)
    assert client.get("/api/v1/tenant/").status_code == 200  # memberships cached
    with tenant_context(tenant_alpha):
        cache.set("report", "before")
    do_bump_tenant_cache_generation(tenant_alpha)
    from tenancy.resolution import memberships_of

    (membership,) = memberships_of(alpha_owner)
    assert membership.tenant.cache_generation == 1
    with tenant_context(membership.tenant):
        assert cache.get("report") is None
