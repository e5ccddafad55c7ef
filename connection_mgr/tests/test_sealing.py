"""A dedicated database's connection URLs (with their passwords) are sealed at rest
under the master key (issue 17; `tenancy.hooks.seal_platform_secret`, provided by the
security feature): the platform table the runtime role reads holds envelopes, every
read gives the plain URL back, an envelope moved to another column does not open, and
a value without the sealed prefix is refused (never taken as a URL).

The table is written under the platform claim only (tenancy/rls_platform.py): the
rows here are made as the application makes them, in `platform_access()`."""

from __future__ import annotations

import pytest
from django.db import connection

from connection_mgr import sealing
from connection_mgr.models import Mode, TenantDatabase
from kms.exceptions import CryptoError
from tenancy.context import platform_access

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def platform():
    with platform_access("test: the routing table's sealed URLs"):
        yield


URL = "postgres://app:s3cret-pw@db.example:5432/tenant_x"
OWNER = "postgres://owner:0wner-pw@db.example:5432/tenant_x"


def _raw(pk) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT url, owner_url FROM connection_mgr_tenantdatabase WHERE id = %s", [pk]
        )
        return cursor.fetchone()


def test_tenant_database_urls_are_sealed_at_rest(tenant_alpha):
    row = TenantDatabase.objects.create(
        tenant=tenant_alpha, mode=Mode.POOLED, alias="tenant_sealed", url=URL, owner_url=OWNER
    )
    url, owner_url = _raw(row.pk)
    assert url.startswith(sealing.PREFIX) and owner_url.startswith(sealing.PREFIX)
    assert "s3cret-pw" not in url and "0wner-pw" not in owner_url
    fresh = TenantDatabase.objects.get(pk=row.pk)
    assert (fresh.url, fresh.owner_url) == (URL, OWNER)
    assert list(TenantDatabase.objects.values_list("url", flat=True)) == [URL]


def test_tenant_database_url_envelope_is_bound_to_its_column(tenant_alpha):
    row = TenantDatabase.objects.create(
        tenant=tenant_alpha, alias="tenant_bound", url=URL, owner_url=OWNER
    )
    url, _owner = _raw(row.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connection_mgr_tenantdatabase SET owner_url = %s WHERE id = %s", [url, row.pk]
        )
    with pytest.raises(CryptoError):
        TenantDatabase.objects.get(pk=row.pk)


def test_tenant_database_plain_url_is_refused_on_read(tenant_alpha):
    row = TenantDatabase.objects.create(tenant=tenant_alpha, alias="tenant_old", url="")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connection_mgr_tenantdatabase SET url = %s WHERE id = %s", [URL, row.pk]
        )
    with pytest.raises(sealing.UnsealedValue, match="url holds a value that is not sealed"):
        TenantDatabase.objects.get(pk=row.pk)
    with pytest.raises(sealing.UnsealedValue):
        list(TenantDatabase.objects.values_list("url", flat=True))
    # An empty URL (a pooled row) is no URL, not an unsealed one.
    assert TenantDatabase.objects.values_list("owner_url", flat=True).get(pk=row.pk) == ""


def test_tenant_database_writes_always_seal(tenant_alpha):
    row = TenantDatabase.objects.create(tenant=tenant_alpha, alias="tenant_w", url=URL)
    TenantDatabase.objects.filter(pk=row.pk).update(owner_url=OWNER)
    url, owner_url = _raw(row.pk)
    assert url.startswith(sealing.PREFIX) and owner_url.startswith(sealing.PREFIX)
    assert TenantDatabase.objects.get(pk=row.pk).owner_url == OWNER


def test_sealed_urls_migration_seals_plain_rows_and_keeps_sealed_ones(tenant_alpha):
    """Migration 0002 reads the column raw (the field refuses plain values now)."""
    import importlib

    migration = importlib.import_module("connection_mgr.migrations.0002_sealed_urls")
    row = TenantDatabase.objects.create(tenant=tenant_alpha, alias="tenant_m", url=URL)
    sealed_url, _owner = _raw(row.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connection_mgr_tenantdatabase SET owner_url = %s WHERE id = %s",
            [OWNER, row.pk],
        )

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.seal_stored_urls(None, editor)
    url, owner_url = _raw(row.pk)
    assert url == sealed_url  # sealed already: left as it was
    assert owner_url.startswith(sealing.PREFIX)
    fresh = TenantDatabase.objects.get(pk=row.pk)
    assert (fresh.url, fresh.owner_url) == (URL, OWNER)
    migration.open_stored_urls(None, editor)
    assert _raw(row.pk) == (URL, OWNER)
