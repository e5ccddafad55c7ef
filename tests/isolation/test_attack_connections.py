"""Attacks on connection_mgr (isolation modes) as a second tenant would try them.

- Raw SQL paths (keyword search, the PostgreSQL bulk import) must follow the router:
  a dedicated tenant's rows are written to and read from its own database, never the
  shared tables of the default one (found: both used `django.db.connection`).
- Tenant staff (owners and admins, not platform operators) reach neither the
  connections API nor its console page.
- A TenantDatabase URL carries a password: no API answer or console page shows it.
"""

from __future__ import annotations

import json

import pytest

from connection_mgr.models import TenantDatabase
from connection_mgr.tests.test_dedicated import beta_dedicated, dedicated_db  # noqa: F401
from metadata_mgr.models import Record
from tenancy.context import platform_access, tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db


def test_keyword_search_of_a_dedicated_tenant_reads_its_own_database(
    beta_dedicated,  # noqa: F811
    tenant_beta,
):
    from metadata_mgr import search_engine as engine
    from metadata_mgr.actions import do_create_record
    from metadata_mgr.search.query import MetadataSearch

    with tenant_context(tenant_beta):
        mine = do_create_record(
            metadata_type="business", content={"k": "zeppelin hangar"}, name="airships"
        )
        assert mine._state.db == beta_dedicated
        hits = engine.search(MetadataSearch("zeppelin", semantic_search=False, limit=5))
    assert [h["id"] for h in hits] == [str(mine.pk)]


def test_bulk_import_of_a_dedicated_tenant_lands_in_its_own_database(
    beta_dedicated,  # noqa: F811
    tenant_beta,
):
    from metadata_mgr.actions.bulk import create_many

    line = json.dumps(
        {"metadata_type": "technical", "name": "bulk_only_beta", "content": {"a": 1}}
    ).encode()
    with tenant_context(tenant_beta):
        created, rejections = create_many([(1, line)], actor="attacker")
        assert (created, rejections) == (1, [])
        assert Record.objects.filter(name="bulk_only_beta").exists()
    with platform_access("test: none of beta's new rows in the shared tables"):
        assert not Record.objects.using("default").filter(name="bulk_only_beta").exists()


def test_tenant_staff_reach_neither_the_api_nor_the_console_page(
    client, alpha_owner, alpha_admin, tenant_alpha
):
    for user in (alpha_owner, alpha_admin):
        api = api_as(user, tenant_alpha)
        assert api.get("/api/v1/connections/").status_code == 403
        made = api.post(
            f"/api/v1/connections/tenants/{tenant_alpha.slug}/isolation/",
            {"mode": "dedicated", "url": "postgres://x:y@127.0.0.1:1/evil"},
            format="json",
        )
        assert made.status_code == 403
        client.force_login(user)
        assert client.get("/console/connections/").status_code == 403
    assert not TenantDatabase.objects.exists()


def test_no_answer_or_page_shows_a_tenant_databases_password(
    beta_dedicated,  # noqa: F811
    tenant_beta,
    superuser,
    client,
):
    row = TenantDatabase.objects.get(tenant=tenant_beta)
    secret = _password(row.url) or _password(row.owner_url)
    listed = api_as(superuser).get("/api/v1/connections/")
    assert listed.status_code == 200
    client.force_login(superuser)
    page = client.get("/console/connections/?check=1")
    assert page.status_code == 200
    shown = listed.content.decode() + page.content.decode()
    assert beta_dedicated in shown
    for needle in filter(None, [secret, row.url, row.owner_url]):
        assert needle not in shown


def test_a_refused_database_url_does_not_echo_its_password(superuser, tenant_beta):
    from connection_mgr.tests.conftest import alias_allowed
    from connection_mgr.tests.test_rest import dead_url

    url = dead_url().replace("nobody@", "someone:hunter2secret@")
    alias = f"tenant_{tenant_beta.pk}"
    with alias_allowed(alias), alias_allowed(f"{alias}_owner"):
        answer = api_as(superuser).post(
            f"/api/v1/connections/tenants/{tenant_beta.slug}/isolation/",
            {"mode": "dedicated", "url": url},
            format="json",
        )
    assert answer.status_code == 400
    assert "hunter2secret" not in answer.content.decode()


def _password(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).password or "" if url else ""


def test_a_dedicated_tenant_updates_and_deletes_its_records(
    beta_dedicated,  # noqa: F811
    tenant_beta,
):
    """Row locks (select_for_update) need the transaction on the tenant's database."""
    from metadata_mgr.actions import do_create_record, do_delete_record, do_update_record

    with tenant_context(tenant_beta):
        record = do_create_record(metadata_type="business", content={"k": 1}, name="mine")
        do_update_record(record.pk, content={"k": 2})
        assert Record.objects.get(pk=record.pk).version != record.version
        do_delete_record(record.pk)
        assert Record.objects.get(pk=record.pk).deleted_at is not None
    with platform_access("test: none of beta's new rows in the shared tables"):
        assert not Record.objects.using("default").filter(pk=record.pk).exists()
