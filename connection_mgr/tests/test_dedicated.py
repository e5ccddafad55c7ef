"""A dedicated tenant (issue 17, isolation modes): its own database (a new PostgreSQL
database on the same server, or another SQLite file on the embedded default), migrated
as the owner with the same forced RLS policies; its rows go there and nowhere else, and
another tenant's context reads nothing of them there. `migrate_tenants` migrates every
dedicated database and reports a failure per tenant without stopping the others."""

from __future__ import annotations

import os
from io import StringIO
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from connection_mgr import actions, aliases
from connection_mgr.models import Mode, TenantDatabase
from connection_mgr.tests.conftest import alias_allowed
from tenancy.context import no_tenant, platform_access, tenant_context
from tenancy.models import TenantSetting
from tests.dedicated import drop_database
from tests.outages import free_port


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def dedicated_db(tmp_path):
    """(runtime URL, owner URL) of a new, empty database, dropped afterwards."""
    if connections["default"].vendor != "postgresql":
        url = f"sqlite:///{tmp_path}/tenant.sqlite3"
        yield url, url
        return
    import psycopg

    name = f"{connections['default'].settings_dict['NAME']}_t{os.getpid()}"
    owner = os.environ["DATABASE_OWNER_URL"]
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    runtime_role = connections["default"].settings_dict["USER"]
    with psycopg.connect(_with_db(owner, name), autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f'GRANT USAGE ON SCHEMA public TO "{runtime_role}"')
    try:
        yield _with_db(os.environ["DATABASE_URL"], name), _with_db(owner, name)
    finally:
        drop_database(name)  # ends the runtime role's sessions first, as that role


@pytest.fixture
def beta_dedicated(tenant_beta, dedicated_db):
    url, owner_url = dedicated_db
    alias = f"tenant_{tenant_beta.pk}"
    with alias_allowed(alias), alias_allowed(f"{alias}_owner"):
        try:
            assert actions.do_make_dedicated(tenant_beta, url, owner_url=owner_url) == alias
            yield alias
        finally:
            aliases.unregister(alias)
            aliases.reset()


@pytest.mark.django_db
def test_dedicated_tenant_rows_live_in_its_own_database(beta_dedicated, tenant_alpha, tenant_beta):
    alias = beta_dedicated
    with tenant_context(tenant_beta):
        row = TenantSetting.objects.create(key="only-beta", value={"x": 1})
        assert row._state.db == alias
        assert TenantSetting.objects.filter(key="only-beta").exists()
    with platform_access("test: nothing of beta's new rows in the shared tables"):
        assert not TenantSetting.objects.using("default").filter(key="only-beta").exists()
    with tenant_context(tenant_alpha):  # alpha is pooled: the default database
        assert not TenantSetting.objects.filter(key="only-beta").exists()
        # even pointed at beta's database, alpha's context sees none of its rows
        assert not TenantSetting.objects.using(alias).filter(key="only-beta").exists()
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenancy_tenantsetting")
            visible = cursor.fetchone()[0]
    if connections[alias].vendor == "postgresql":
        assert visible == 0  # RLS with FORCE in the dedicated database
        with no_tenant(), connections[alias].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM tenancy_tenantsetting")
            assert cursor.fetchone()[0] == 0  # fails closed without a tenant
        from tenancy import rls_inspect

        assert rls_inspect.inspect(using=alias).problems == []
    with tenant_context(tenant_beta):  # what existed before (its key ring) came along
        from security_mgr.models import KeyRing

        assert KeyRing.objects.using(alias).exists()


@pytest.mark.django_db
def test_migrate_tenants_reports_each_tenant(beta_dedicated, tenant_alpha):
    out = StringIO()
    call_command("migrate_tenants", stdout=out)
    assert "beta" in out.getvalue() and "migrated" in out.getvalue()
    dead = f"postgres://nobody@127.0.0.1:{free_port()}/nothing"
    if connections["default"].vendor != "postgresql":
        dead = "sqlite:////no-such-directory/x.sqlite3"
    with platform_access("test: route alpha to a database that does not answer"):
        TenantDatabase.objects.create(
            tenant=tenant_alpha, mode=Mode.DEDICATED, alias="tenant_dead", url=dead
        )
    out = StringIO()
    with (
        alias_allowed("tenant_dead_owner"),
        pytest.raises(CommandError, match="1 of 2 failed: alpha"),
    ):
        call_command("migrate_tenants", stdout=out)
    lines = out.getvalue()
    assert "alpha (tenant_dead): FAILED" in lines
    assert "beta (" in lines and ": migrated" in lines
