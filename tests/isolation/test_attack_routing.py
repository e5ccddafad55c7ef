"""Attacks on the dedicated-tenant routing (connection_mgr.aliases, tenancy.db) by a second
tenant with SQL as the runtime role (an injection in its own request: the first row of
the threat model in docs/isolation.md).

The tenant -> database map is read from `connection_mgr_tenantdatabase`, a platform
table the runtime role may read *and write* (it holds SELECT, INSERT, UPDATE, DELETE on
every table, and no policy or trigger guards this one, unlike `tenancy_membership` or
`auth_user`, tenancy/rls_platform.py). `SealedURLField` reads a row without the
`sealed:v1:` prefix "as it is" (connection_mgr/sealing.py), so the attacker does not
need the master key either: a plain URL of the attacker's choice is taken.

Found: tenant A's injected SQL routes tenant B (pooled or dedicated) to a database the
attacker names. Every later request of B, in every process (within
CONNECTION_ROUTING_TTL), reads and writes B's scoped rows there: B's new data goes to
the attacker's server, and B reads what that server answers. Deleting B's row instead
sends a dedicated B back to the shared tables; pointing B at A's alias puts B's rows in
A's database. Expected: the database refuses the write without the platform claim (as
it does for memberships and superusers)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import DatabaseError, connection, transaction

from connection_mgr import aliases
from connection_mgr.models import TenantDatabase
from tenancy import db as tenant_db
from tenancy.context import tenant_context
from tests.markers import postgres_only

pytestmark = pytest.mark.django_db

# Open holes, found by the attack review of 2026-12-03 and not yet closed: strict, so
# the day a guard lands these pass and the marker must go (docs/isolation.md, "Open").
OPEN_HOLE = pytest.mark.xfail(
    strict=True,
    reason="open: connection_mgr_tenantdatabase has no platform-claim write guard, and an "
    "unsealed URL is still read as a plain one (docs/isolation.md, Open)",
)

EVIL_ALIAS = "tenant_evil"


def _attacker_url() -> str:
    # Any PostgreSQL URL is taken (the same kind as the default database's); a real
    # attacker names a server of their own. Registering it opens no connection.
    parts = urlsplit(os.environ["DATABASE_URL"])
    netloc = f"attacker:stolen@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc, path="/attacker_db"))


@postgres_only("the runtime role's privileges on the routing table")
@OPEN_HOLE
def test_attack_routing_sql_of_one_tenant_cannot_reroute_another(tenant_alpha, tenant_beta):
    inserted = 0
    try:
        with tenant_context(tenant_alpha), connection.cursor() as cursor:
            # Tenant A's injected SQL: no key, no platform claim, just the runtime role.
            try:
                with transaction.atomic():
                    cursor.execute(
                        "INSERT INTO connection_mgr_tenantdatabase "
                        "(tenant_id, mode, alias, url, owner_url, updated_at) "
                        "VALUES (%s, 'dedicated', %s, %s, '', now())",
                        [tenant_beta.pk, EVIL_ALIAS, _attacker_url()],
                    )
                    inserted = cursor.rowcount
            except DatabaseError:
                inserted = 0  # refused: what we expect
        aliases.reset()  # another process, or this one after CONNECTION_ROUTING_TTL
        with tenant_context(tenant_beta):
            routed_to = tenant_db.alias_for()
        assert routed_to == "default", f"tenant B's rows now go to {routed_to!r}"
        assert inserted == 0, "the runtime role wrote another tenant's routing row"
    finally:
        aliases.unregister(EVIL_ALIAS)
        aliases.reset()


@postgres_only("the runtime role's privileges on the routing table")
@OPEN_HOLE
def test_attack_routing_plain_url_is_not_read_as_a_sealed_one(tenant_beta):
    """The sealing (connection_mgr/sealing.py) is bound to the column, but a value
    without its prefix is read as a plain URL: whoever can write the column picks the
    URL without the master key. Expected: an unsealed value is refused on read."""
    try:
        with tenant_context(tenant_beta), connection.cursor() as cursor:
            try:
                with transaction.atomic():
                    cursor.execute(
                        "INSERT INTO connection_mgr_tenantdatabase "
                        "(tenant_id, mode, alias, url, owner_url, updated_at) "
                        "VALUES (%s, 'dedicated', %s, %s, '', now())",
                        [tenant_beta.pk, EVIL_ALIAS, _attacker_url()],
                    )
            except DatabaseError:
                return  # the write is refused already: nothing to read
        url = TenantDatabase.objects.using("default").get(tenant=tenant_beta).url
        assert url != _attacker_url(), "an unsealed URL written by SQL was taken as is"
    finally:
        aliases.unregister(EVIL_ALIAS)
        aliases.reset()
