"""A dedicated database's connection URLs (with their passwords) are sealed at rest
under the master key (issue 17; `tenancy.hooks.seal_platform_secret`, provided by the
security feature): the platform table the runtime role reads holds envelopes, every
read gives the plain URL back, and an envelope moved to another column does not open."""

from __future__ import annotations

import pytest
from django.db import connection

from connection_mgr import sealing
from connection_mgr.models import Mode, TenantDatabase
from kms.exceptions import CryptoError

pytestmark = pytest.mark.django_db

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


def test_tenant_database_plain_url_of_an_older_row_still_reads(tenant_alpha):
    row = TenantDatabase.objects.create(tenant=tenant_alpha, alias="tenant_old", url="")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connection_mgr_tenantdatabase SET url = %s WHERE id = %s", [URL, row.pk]
        )
    assert TenantDatabase.objects.get(pk=row.pk).url == URL
    row = TenantDatabase.objects.get(pk=row.pk)
    row.save(update_fields=["url"])  # saved again: sealed (what migration 0002 does)
    assert _raw(row.pk)[0].startswith(sealing.PREFIX)
