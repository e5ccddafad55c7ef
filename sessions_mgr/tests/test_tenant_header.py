"""An X-Tenant sent with a session token is checked as without one (issue 10: the
OpenAPI schema documents one slug syntax for it): empty or malformed is a 400
`invalid_tenant`, not silently ignored nor counted as a forged token."""

import pytest
from rest_framework.test import APIClient

from tests.personas import api_as

pytestmark = pytest.mark.django_db


def token_of(user, tenant):
    response = api_as(user, tenant).post("/api/v1/sessions/", {}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


@pytest.mark.parametrize("header", ["", " ", "Not A Slug", "-alpha", "a" * 64])
def test_token_with_malformed_x_tenant_is_400(alpha_owner, tenant_alpha, header, view):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_of(alpha_owner, tenant_alpha)}")
    response = client.get("/api/v1/tenant/", HTTP_X_TENANT=header)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_tenant"


def test_token_with_its_own_tenant_in_x_tenant_is_accepted(alpha_owner, tenant_alpha, view):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_of(alpha_owner, tenant_alpha)}")
    response = client.get("/api/v1/tenant/", HTTP_X_TENANT=" alpha ")
    assert response.status_code == 200 and response.json()["slug"] == "alpha"
