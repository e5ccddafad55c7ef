"""`/api/v1/me/` names the tenant every other endpoint would act in."""

import pytest

from tenancy.models import TenantState
from tests.personas import api_as

pytestmark = pytest.mark.django_db


def test_me_member_of_one_tenant_shows_it(owner_a, tenant_a):
    body = api_as(owner_a).get("/api/v1/me/").json()
    assert body["current_tenant"]["slug"] == "alpha"
    assert body["role"] == "owner"


def test_me_member_of_several_without_choice_shows_none(shared_user):
    body = api_as(shared_user).get("/api/v1/me/").json()
    assert body["current_tenant"] is None and len(body["memberships"]) == 2


def test_me_member_of_several_with_choice_shows_it(shared_user, tenant_b):
    body = api_as(shared_user, tenant_b).get("/api/v1/me/").json()
    assert body["current_tenant"]["slug"] == "beta" and body["role"] == "admin"


def test_me_member_of_one_suspended_tenant_still_answers(owner_a, tenant_a):
    tenant_a.state = TenantState.SUSPENDED
    tenant_a.save(update_fields=["state"])
    response = api_as(owner_a).get("/api/v1/me/")
    assert response.status_code == 200, response.content
    assert response.json()["current_tenant"] is None


def test_me_platform_operator_without_membership(superuser):
    body = api_as(superuser).get("/api/v1/me/").json()
    assert body["current_tenant"] is None and body["is_platform_operator"] is True
