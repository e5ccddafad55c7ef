"""The console's "Tenant moves" page: platform operators see every tenant's isolation
mode and latest move with its progress, and start "move to dedicated" / "move to
pooled" there; a refused move (bad input, a tenant already there, a move running) is
shown with its reasons and starts nothing."""

from __future__ import annotations

import pytest

from connection_mgr.models import Mode, TenantDatabase
from connection_mgr.tests.conftest import alias_allowed
from tenancy.context import tenant_context
from workflow_mgr.models import WorkflowRun

pytestmark = pytest.mark.django_db
PAGE = "/console/connections/moves/"


def _runs(tenant) -> int:
    with tenant_context(tenant):
        return WorkflowRun.objects.filter(name="tenant_move").count()


def test_moves_page_lists_tenants_with_mode_and_actions(client, superuser, tenant_alpha):
    client.force_login(superuser)
    page = client.get(PAGE)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-tenant="alpha" data-mode="pooled"' in body
    assert "Move to dedicated" in body and 'name="url"' in body


def test_moves_page_is_for_platform_operators(client, alpha_admin, tenant_alpha):
    client.force_login(alpha_admin)
    assert client.get(PAGE).status_code == 403
    answer = client.post(f"{PAGE}alpha/move/", {"to": "pooled"})
    assert answer.status_code == 403
    assert _runs(tenant_alpha) == 0


def test_moves_page_shows_a_running_moves_progress(client, superuser, tenant_alpha):
    with tenant_context(tenant_alpha):
        run = WorkflowRun.objects.create(
            name="tenant_move", state="running", definition={"steps": [{}] * 5}
        )
    client.force_login(superuser)
    body = client.get(PAGE).content.decode()
    assert f"#{run.pk}" in body and "<progress" in body
    assert "A move is running." in body


@pytest.mark.parametrize(
    "form, status, reason",
    [
        ({"to": "pooled"}, 409, "pooled already"),
        ({"to": "dedicated"}, 400, "url: required"),
        ({"to": "dedicated", "url": "not a url"}, 400, "url:"),
        ({"to": "elsewhere"}, 400, "to: one of"),
    ],
)
def test_moves_page_refusals_show_reasons_and_start_nothing(
    client, superuser, tenant_alpha, form, status, reason
):
    client.force_login(superuser)
    with (
        alias_allowed(f"tenant_{tenant_alpha.pk}"),
        alias_allowed(f"tenant_{tenant_alpha.pk}_owner"),
    ):
        answer = client.post(f"{PAGE}alpha/move/", form)
    assert answer.status_code == status
    assert reason in answer.content.decode()
    assert _runs(tenant_alpha) == 0
    assert not TenantDatabase.objects.filter(tenant=tenant_alpha, mode=Mode.DEDICATED).exists()


def test_moves_page_unknown_tenant_is_404(client, superuser):
    client.force_login(superuser)
    assert client.post(f"{PAGE}nobody/move/", {"to": "pooled"}).status_code == 404


def test_moves_page_refusal_does_not_echo_a_password(client, superuser, tenant_alpha):
    from tests.outages import free_port  # noqa: PLC0415

    client.force_login(superuser)
    url = f"postgres://someone:hunter2secret@127.0.0.1:{free_port()}/nothing"
    with (
        alias_allowed(f"tenant_{tenant_alpha.pk}"),
        alias_allowed(f"tenant_{tenant_alpha.pk}_owner"),
    ):
        answer = client.post(f"{PAGE}alpha/move/", {"to": "dedicated", "url": url})
    assert answer.status_code == 400
    assert "hunter2secret" not in answer.content.decode()
    assert _runs(tenant_alpha) == 0


def test_moves_page_starts_a_move_to_dedicated(client, superuser, tenant_alpha, dedicated_db):
    url, owner_url = dedicated_db
    client.force_login(superuser)
    alias = f"tenant_{tenant_alpha.pk}"
    try:
        with alias_allowed(alias), alias_allowed(f"{alias}_owner"):
            answer = client.post(
                f"{PAGE}alpha/move/", {"to": "dedicated", "url": url, "owner_url": owner_url}
            )
        assert answer.status_code == 302 and answer.url == PAGE
        assert _runs(tenant_alpha) == 1
        body = client.get(PAGE).content.decode()
        assert "workflow run #" in body and "A move is running." in body
    finally:
        from connection_mgr import aliases

        aliases.unregister(alias)
