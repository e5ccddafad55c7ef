"""`/api/v1/me/` names the tenant every other endpoint would act in."""

import pytest

from tenancy.models import TenantState
from tests.personas import api_as

pytestmark = pytest.mark.django_db


def test_me_member_of_one_tenant_shows_it(alpha_owner, tenant_alpha):
    body = api_as(alpha_owner).get("/api/v1/me/").json()
    assert body["current_tenant"]["slug"] == "alpha"
    assert body["role"] == "owner"


def test_me_member_of_several_without_choice_shows_none(member_of_both):
    body = api_as(member_of_both).get("/api/v1/me/").json()
    assert body["current_tenant"] is None and len(body["memberships"]) == 2


def test_me_member_of_several_with_choice_shows_it(member_of_both, tenant_beta):
    body = api_as(member_of_both, tenant_beta).get("/api/v1/me/").json()
    assert body["current_tenant"]["slug"] == "beta" and body["role"] == "admin"


def test_me_member_of_one_suspended_tenant_still_answers(alpha_owner, tenant_alpha):
    tenant_alpha.state = TenantState.SUSPENDED
    tenant_alpha.save(update_fields=["state"])
    response = api_as(alpha_owner).get("/api/v1/me/")
    assert response.status_code == 200, response.content
    assert response.json()["current_tenant"] is None


def test_me_platform_operator_without_membership(superuser):
    body = api_as(superuser).get("/api/v1/me/").json()
    assert body["current_tenant"] is None and body["is_platform_operator"] is True
