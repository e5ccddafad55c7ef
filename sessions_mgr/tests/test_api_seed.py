"""The seed's REST bodies and paths, as written in its README:

POST /sessions/create
{"tenant_id": "tenant_123", "user_id": "user_456", "session_type": "user|api|admin",
 "security_level": "high|critical|quantum"}
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sessions_mgr.models import Session
from tenancy.actions import do_add_member
from tenancy.context import tenant_context
from tenancy.models import Role, Tenant
from tests.personas import PASSWORD, api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_tenant(db):
    """The seed's `tenant_123` (a slug cannot hold `_`: it reads as `tenant-123`)."""
    return Tenant.objects.create(slug="tenant-123", name="Seed tenant")


@pytest.fixture
def seed_user(seed_tenant):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="user_456", password=PASSWORD)
    do_add_member(seed_tenant, user, Role.MEMBER)
    return user


@pytest.fixture
def seed_admin(seed_tenant):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="seed-admin", password=PASSWORD)
    do_add_member(seed_tenant, user, Role.ADMIN)
    return user


def _sessions(tenant):
    with tenant_context(tenant):
        return Session.objects.count()


def test_seed_body_as_written_creates_a_session(seed_user, seed_tenant, view):
    body = {"tenant_id": "tenant_123", "user_id": "user_456", "security_level": "HIGH"}
    response = api_as(seed_user).post("/sessions/create", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["security_level"] == "high" and created["user"] == seed_user.pk
    assert created["token"]


@pytest.mark.parametrize(
    "level,kind", [("High", "USER"), ("high", "Api"), ("STANDARD", "admin"), (" high ", "user")]
)
def test_seed_enum_values_case_insensitive(seed_user, seed_tenant, view, level, kind):
    body = {"security_level": level, "session_type": kind}
    response = api_as(seed_user).post("/api/v1/sessions/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["security_level"] == level.strip().lower()
    assert response.json()["session_type"] == kind.lower()


def test_seed_unknown_enum_value_is_400(seed_user, view):
    body = {"security_level": "ULTRA"}
    response = api_as(seed_user).post("/sessions/create", body, format="json")
    assert response.status_code == 400 and "security_level" in response.json()["error"]["fields"]


@pytest.mark.parametrize("ref", ["tenant_123", "tenant-123", "TENANT_123", "id"])
def test_seed_tenant_id_slug_or_id(seed_user, seed_tenant, view, ref):
    ref = seed_tenant.pk if ref == "id" else ref
    body = {"tenant_id": ref}
    response = api_as(seed_user).post("/sessions/create", body, format="json")
    assert response.status_code == 201, response.content


def test_seed_tenant_id_as_digits_string(seed_user, seed_tenant, view):
    body = {"tenant_id": str(seed_tenant.pk)}
    response = api_as(seed_user).post("/sessions/create", body, format="json")
    assert response.status_code == 201, response.content


def test_seed_tenant_id_selects_among_several(member_of_both, tenant_alpha, tenant_beta, view):
    """A member of several tenants, without X-Tenant: the body's tenant_id chooses."""
    response = api_as(member_of_both).post("/sessions/create", {"tenant_id": "beta"}, format="json")
    assert response.status_code == 201, response.content
    assert _sessions(tenant_beta) == 1 and _sessions(tenant_alpha) == 0


@pytest.mark.parametrize("ref", ["beta", "no-such-tenant", "tenant_999", 987654, "x" * 500])
def test_seed_tenant_id_foreign_or_missing_same_answer(
    alpha_owner, tenant_alpha, tenant_beta, view, ref
):
    """Another tenant and a missing one: the same 403, and nothing created."""
    response = api_as(alpha_owner).post("/sessions/create", {"tenant_id": ref}, format="json")
    assert response.status_code in (400, 403), response.content
    if response.status_code == 403:
        assert response.json() == {
            "error": {
                "code": "tenant_not_accessible",
                "message": "This tenant does not exist or you are not a member.",
            }
        }
    assert _sessions(tenant_alpha) == 0


def test_seed_tenant_id_foreign_with_header_same_answer(
    alpha_owner, tenant_alpha, tenant_beta, view
):
    client = api_as(alpha_owner, tenant_alpha)
    foreign = client.post("/sessions/create", {"tenant_id": "beta"}, format="json")
    missing = client.post("/sessions/create", {"tenant_id": "gamma"}, format="json")
    assert foreign.status_code == missing.status_code == 403
    assert foreign.content == missing.content
    assert _sessions(tenant_alpha) == 0


def test_seed_tenant_id_other_own_tenant_with_header_is_mismatch(
    member_of_both, tenant_alpha, tenant_beta, view
):
    client = api_as(member_of_both, tenant_alpha)
    response = client.post("/sessions/create", {"tenant_id": "beta"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "tenant_mismatch"
    assert _sessions(tenant_alpha) == _sessions(tenant_beta) == 0


@pytest.mark.parametrize("ref", [True, {"a": 1}, ["alpha"], ""])
def test_seed_tenant_id_wrong_type_is_4xx(alpha_owner, tenant_alpha, view, ref):
    response = api_as(alpha_owner).post("/sessions/create", {"tenant_id": ref}, format="json")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
    assert _sessions(tenant_alpha) == 0


def test_seed_user_id_username_or_id_for_admin(seed_admin, seed_user, seed_tenant, view):
    client = api_as(seed_admin)
    by_name = client.post("/sessions/create", {"user_id": "user_456"}, format="json")
    by_id = client.post("/sessions/create", {"user_id": str(seed_user.pk)}, format="json")
    by_int = client.post("/sessions/create", {"user_id": seed_user.pk}, format="json")
    for response in (by_name, by_id, by_int):
        assert response.status_code == 201, response.content
        assert response.json()["user"] == seed_user.pk


def test_seed_user_id_own_username_for_non_admin(seed_user, view):
    response = api_as(seed_user).post("/sessions/create", {"user_id": "user_456"}, format="json")
    assert response.status_code == 201, response.content


def test_seed_user_id_other_for_non_admin_same_403(seed_user, seed_admin, seed_tenant, view):
    """Naming an existing member and nobody: the same refusal (no username oracle)."""
    client = api_as(seed_user)
    existing = client.post("/sessions/create", {"user_id": "seed-admin"}, format="json")
    nobody = client.post("/sessions/create", {"user_id": "nobody-at-all"}, format="json")
    assert existing.status_code == nobody.status_code == 403
    assert existing.content == nobody.content
    assert _sessions(seed_tenant) == 0


def test_seed_user_id_unknown_for_admin_is_400(seed_admin, seed_tenant, beta_owner, view):
    client = api_as(seed_admin)
    for ref in ("nobody-at-all", "bob", str(beta_owner.pk)):  # bob: a member of another tenant
        response = client.post("/sessions/create", {"user_id": ref}, format="json")
        assert response.status_code == 400, (ref, response.content)
        assert response.json()["error"]["code"] == "unknown_user"
    assert _sessions(seed_tenant) == 0


def test_seed_revoke_all_by_username(seed_admin, seed_user, seed_tenant, view):
    client = api_as(seed_admin)
    assert (
        client.post("/sessions/create", {"user_id": "user_456"}, format="json").status_code == 201
    )
    response = client.post("/api/v1/sessions/revoke-all/", {"user_id": "user_456"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"revoked": 1, "scope": "user", "user_id": seed_user.pk}


# --- the seed's paths with and without a trailing slash ---------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_seed_aliases_with_and_without_slash(seed_user, seed_tenant, view, slash):
    created = api_as(seed_user).post(f"/sessions/create{slash}", {}, format="json")
    assert created.status_code == 201, created.content
    session_id, token = created.json()["id"], created.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    validated = client.get(f"/sessions/{session_id}/validate{slash}")
    assert validated.status_code == 200 and validated.json()["valid"] is True
    analytics = client.get(f"/sessions/{session_id}/analytics{slash}")
    assert analytics.status_code == 200, analytics.content


@pytest.mark.parametrize(
    "path", ["/sessions/create/extra/", "/sessions/abc/nothing", "/sessions/abc/validate/x/"]
)
def test_seed_alias_unknown_neighbours_are_json_404(seed_user, path, settings):
    settings.DEBUG = True
    client = Client(raise_request_exception=False)
    client.login(username="user_456", password=PASSWORD)
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


def test_seed_alias_slash_variants_not_in_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator(api_version="v1").get_schema(public=True)["paths"]
    assert "/sessions/create" in paths and "/sessions/create/" not in paths
