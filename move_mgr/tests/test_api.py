"""`POST /api/v1/connections/tenants/<slug>/move/`: platform operators only; bad input
(an unknown destination, no URL, an invalid URL, a database that does not answer, a
move to where the tenant already is) is a 4xx with the reasons and starts nothing, on
PostgreSQL and on the embedded default (where a dedicated database is an SQLite file)."""

from __future__ import annotations

import pytest
from django.db import connections

from connection_mgr.models import TenantDatabase
from connection_mgr.tests.conftest import alias_allowed
from tenancy.context import tenant_context
from tests.outages import free_port
from tests.personas import api_as
from workflow_mgr.models import WorkflowRun

pytestmark = pytest.mark.django_db
ON_POSTGRES = connections["default"].vendor == "postgresql"


def move(slug: str) -> str:
    return f"/api/v1/connections/tenants/{slug}/move/"


def _nothing_started(tenant):
    with tenant_context(tenant):
        assert not WorkflowRun.objects.exists()
    assert not TenantDatabase.objects.filter(tenant=tenant).exists()
    assert f"tenant_{tenant.pk}" not in connections.settings


def test_operators_only(alpha_admin, tenant_alpha):
    answer = api_as(alpha_admin, tenant_alpha).post(move("alpha"), {"to": "pooled"}, format="json")
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ({"to": "elsewhere"}, 400, "to"),
        ({}, 400, "to"),
        ({"to": "dedicated"}, 400, "url"),
        ({"to": "dedicated", "url": "not a url"}, 400, "url:"),
        ({"to": "dedicated", "url": "mysql://x@localhost/db"}, 400, "url:"),
        ({"to": "pooled"}, 409, "pooled already"),
    ],
)
def test_bad_input_is_refused_with_reasons(superuser, tenant_alpha, body, status, reason):
    answer = api_as(superuser).post(move("alpha"), body, format="json")
    assert answer.status_code == status, answer.content
    assert reason in answer.content.decode()
    _nothing_started(tenant_alpha)


def test_a_database_that_does_not_answer_is_refused(superuser, tenant_alpha):
    dead = f"postgres://nobody@127.0.0.1:{free_port()}/nothing"
    if not ON_POSTGRES:
        dead = "sqlite:////no-such-directory/here/tenant.sqlite3"
    with (
        alias_allowed(f"tenant_{tenant_alpha.pk}"),
        alias_allowed(f"tenant_{tenant_alpha.pk}_owner"),
    ):
        answer = api_as(superuser).post(
            move("alpha"), {"to": "dedicated", "url": dead}, format="json"
        )
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "does not answer" in body
    _nothing_started(tenant_alpha)


def test_unknown_tenant_is_404(superuser):
    answer = api_as(superuser).post(move("nobody"), {"to": "pooled"}, format="json")
    assert answer.status_code == 404


def test_a_move_during_another_move_is_409(superuser, tenant_alpha):
    with tenant_context(tenant_alpha):
        WorkflowRun.objects.create(name="tenant_move", state="running")
    answer = api_as(superuser).post(
        move("alpha"), {"to": "dedicated", "url": "postgres://x@127.0.0.1/elsewhere"}, format="json"
    )
    assert answer.status_code == 409 and "Another move" in answer.content.decode()
    with tenant_context(tenant_alpha):
        assert WorkflowRun.objects.count() == 1
    assert not TenantDatabase.objects.filter(tenant=tenant_alpha).exists()
