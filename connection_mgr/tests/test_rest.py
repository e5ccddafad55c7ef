"""The connections API and console page: operators only; a dedicated database that is
not a database URL, or does not answer, is refused with reasons and nothing half-done."""

from __future__ import annotations

import pytest
from django.db import connections

from connection_mgr.models import TenantDatabase
from connection_mgr.tests.conftest import alias_allowed
from tests.outages import free_port
from tests.personas import api_as

LIST = "/api/v1/connections/"


def isolation(slug: str) -> str:
    return f"/api/v1/connections/tenants/{slug}/isolation/"


def dead_url() -> str:
    if connections["default"].vendor == "postgresql":
        return f"postgres://nobody@127.0.0.1:{free_port()}/nothing"
    return "sqlite:////no-such-directory/here/tenant.sqlite3"


@pytest.mark.django_db
def test_states_for_operators_only(superuser, alpha_admin, tenant_alpha):
    answer = api_as(superuser).get(LIST)
    assert answer.status_code == 200
    default = next(row for row in answer.json()["databases"] if row["alias"] == "default")
    assert default["kind"] == "primary" and default["breaker"]["state"] == "closed"
    assert api_as(alpha_admin, tenant_alpha).get(LIST).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, reason",
    [
        ("not a url", "url:"),
        ("redis://127.0.0.1:6379/0", "url:"),
        (None, "does not answer"),
    ],
)
def test_bad_database_is_refused_with_reasons(superuser, tenant_beta, url, reason):
    before = set(connections.settings)
    alias = f"tenant_{tenant_beta.pk}"
    with alias_allowed(alias), alias_allowed(f"{alias}_owner"):
        answer = api_as(superuser).post(
            isolation(tenant_beta.slug),
            {"mode": "dedicated", "url": url or dead_url()},
            format="json",
        )
    assert answer.status_code == 400, answer.content
    assert reason in answer.json()["error"]["message"]
    assert not TenantDatabase.objects.filter(tenant=tenant_beta).exists()
    assert set(connections.settings) == before  # no alias left registered


@pytest.mark.django_db
def test_pooled_twice_and_unknown_tenant(superuser, tenant_alpha):
    client = api_as(superuser)
    assert client.post(isolation(tenant_alpha.slug), {"mode": "pooled"}).status_code == 409
    assert client.post(isolation("no-such"), {"mode": "pooled"}).status_code == 404
    assert client.post(isolation(tenant_alpha.slug), {"mode": "dedicated"}).status_code == 400


@pytest.mark.django_db
def test_console_page(client, superuser, alpha_admin, tenant_alpha):
    client.force_login(superuser)
    page = client.get("/console/connections/")
    assert page.status_code == 200
    assert 'data-alias="default"' in page.content.decode()
    assert 'data-breaker="closed"' in page.content.decode()
    checked = client.get("/console/connections/?check=1")
    assert checked.status_code == 200
    client.force_login(alpha_admin)
    assert client.get("/console/connections/").status_code == 403
