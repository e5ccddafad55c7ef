"""Attacks on the dedicated-tenant routing (connection_mgr.aliases, tenancy.db) by a second
tenant with SQL as the runtime role (an injection in its own request: the first row of
the threat model in docs/isolation.md).

The tenant -> database map is read from `connection_mgr_tenantdatabase`, a platform
table the runtime role must read (the router needs it before a tenant's database is
chosen). Found by the attack review of 2026-12-03: the runtime role could also *write*
it, and `SealedURLField` read a value without the `sealed:v1:` prefix as a plain URL, so
tenant A's injected SQL could route tenant B to a database the attacker names (B's new
rows to the attacker's server), send a dedicated B back to the shared tables, or point
B at A's alias.

Closed: the table is under the platform-claim write guard (tenancy/rls_platform.py,
registered by connection_mgr): everyone reads, INSERT, UPDATE and DELETE need the
verified platform claim (`platform_access()`); the runtime role has no TRUNCATE and
owns nothing, so it cannot disable the guard. An unsealed URL is refused on read, and
the router refuses that tenant's row alone (fail closed: `RoutingRefused`)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import DatabaseError, connection, connections, transaction

from connection_mgr import aliases, sealing
from connection_mgr.models import Mode, TenantDatabase
from tenancy import db as tenant_db
from tenancy.context import platform_access, tenant_context
from tests.isolation.platform_rows import (
    as_owner,
    ddl_attempts,
    refused,
    run_as,
    with_forged_platform_claim,
)
from tests.markers import postgres_only

pytestmark = pytest.mark.django_db

EVIL_ALIAS = "tenant_evil"
TABLE = TenantDatabase._meta.db_table
PLAIN_URL = "postgres://attacker:stolen@attacker.example:5432/attacker_db"


def _attacker_url() -> str:
    # Any PostgreSQL URL is taken (the same kind as the default database's); a real
    # attacker names a server of their own. Registering it opens no connection.
    parts = urlsplit(os.environ["DATABASE_URL"])
    netloc = f"attacker:stolen@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc, path="/attacker_db"))


@postgres_only("the runtime role's privileges on the routing table")
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


def _route(tenant) -> TenantDatabase:
    """B dedicated, the way the application writes it (platform claim, sealed URL); the
    URL names the test database itself: registering it opens no connection."""
    url = connections["default"].settings_dict
    own = f"postgres://{url['USER']}@{url['HOST'] or '127.0.0.1'}:{url['PORT'] or 5432}/x"
    with platform_access("test: route a tenant to its own database"):
        return TenantDatabase.objects.create(
            tenant=tenant, mode=Mode.DEDICATED, alias=f"tenant_{tenant.pk}", url=own
        )


def _stored(pk) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT mode, alias, url, owner_url FROM {TABLE} WHERE id = %s", [pk])
        return cursor.fetchone()


@postgres_only("the runtime role's privileges on the routing table")
def test_attack_routing_sql_of_one_tenant_cannot_update_or_delete_another_routing_row(
    tenant_alpha, tenant_beta
):
    row = _route(tenant_beta)
    before = _stored(row.pk)
    try:
        # Readable (the router needs it): so a write that changes nothing was refused,
        # not merely aimed at a row the attacker cannot see.
        assert run_as(tenant_alpha, f"SELECT 1 FROM {TABLE} WHERE id = %s", [row.pk]) == 1
        attempts = {
            "UPDATE url": (f"UPDATE {TABLE} SET url = %s WHERE id = %s", [PLAIN_URL, row.pk]),
            "UPDATE alias": (
                f"UPDATE {TABLE} SET alias = %s WHERE id = %s",
                [f"tenant_{tenant_alpha.pk}", row.pk],
            ),
            "UPDATE mode": (f"UPDATE {TABLE} SET mode = 'pooled' WHERE id = %s", [row.pk]),
            "UPDATE tenant": (
                f"UPDATE {TABLE} SET tenant_id = %s WHERE id = %s",
                [tenant_alpha.pk, row.pk],
            ),
            "DELETE": (f"DELETE FROM {TABLE} WHERE id = %s", [row.pk]),
            "upsert": (
                f"INSERT INTO {TABLE} (tenant_id, mode, alias, url, owner_url, updated_at) "
                "VALUES (%s, 'pooled', %s, '', '', now()) ON CONFLICT (tenant_id) DO UPDATE "
                "SET mode = EXCLUDED.mode",
                [tenant_beta.pk, EVIL_ALIAS],
            ),
        }
        wrote = {}
        for what, (sql, params) in attempts.items():
            outcome = run_as(tenant_alpha, sql, params)
            if not refused(outcome):
                wrote[what] = outcome
        assert not wrote, f"tenant A's SQL changed B's routing row: {wrote}"
        assert _stored(row.pk) == before
        aliases.reset()
        with tenant_context(tenant_beta):
            assert tenant_db.alias_for() == f"tenant_{tenant_beta.pk}"
    finally:
        aliases.unregister(f"tenant_{tenant_beta.pk}")
        aliases.reset()


@postgres_only("the runtime role's privileges on the routing table")
@pytest.mark.parametrize("what", sorted(ddl_attempts(TABLE)))
def test_attack_routing_sql_cannot_switch_the_routing_guard_off(tenant_alpha, what):
    """TRUNCATE ignores RLS; ALTER TABLE, policies, triggers and grants are the owner's;
    the runtime role is a member of no role (SET ROLE) and may not set
    session_replication_role (which would skip triggers)."""
    outcome = run_as(tenant_alpha, ddl_attempts(TABLE)[what])
    assert isinstance(outcome, DatabaseError), f"the runtime role may {what} the routing table"
    assert "permission denied" in str(outcome) or "must be" in str(outcome), str(outcome)


@postgres_only("the runtime role's privileges on the routing table")
def test_attack_routing_forged_platform_claim_is_refused(tenant_beta):
    """The platform claim set by hand on a connection of the attacker's own, with a proof
    it cannot compute (no key): the write guard asks for a *verified* claim."""
    sql = (
        f"INSERT INTO {TABLE} (tenant_id, mode, alias, url, owner_url, updated_at) "
        "VALUES (%s, 'dedicated', %s, %s, '', now())"
    )
    try:
        outcome = with_forged_platform_claim(sql, [tenant_beta.pk, EVIL_ALIAS, PLAIN_URL])
        assert isinstance(outcome, DatabaseError), "a forged platform claim wrote the routing"
        # The policy refused it (evaluated before the foreign key: B is not committed).
        assert "row-level security" in str(outcome), str(outcome)
    finally:
        as_owner(f"DELETE FROM {TABLE} WHERE alias = %s", [EVIL_ALIAS])


def test_attack_routing_plain_url_is_not_read_as_a_sealed_one(tenant_alpha, tenant_beta):
    """A URL without the sealed prefix (written around the field, as an injection with the
    claim or an older version would): refused on read, and the router refuses B's row
    alone (fail closed: B reaches no database) while A is routed as before. On both
    backends: the embedded default seals too."""
    with platform_access("test: a plain URL written around the field"):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (tenant_id, mode, alias, url, owner_url, updated_at) "
                "VALUES (%s, 'dedicated', %s, %s, '', CURRENT_TIMESTAMP)",
                [tenant_beta.pk, EVIL_ALIAS, PLAIN_URL],
            )
    try:
        with pytest.raises(sealing.UnsealedValue, match="not sealed"):
            TenantDatabase.objects.get(tenant=tenant_beta)
        aliases.reset()
        with tenant_context(tenant_beta), pytest.raises(aliases.RoutingRefused, match="sealed"):
            tenant_db.alias_for()
        with tenant_context(tenant_alpha):
            assert tenant_db.alias_for() == "default"
        assert EVIL_ALIAS not in connections.settings
        assert EVIL_ALIAS not in aliases.dedicated_aliases()
    finally:
        aliases.unregister(EVIL_ALIAS)
        aliases.reset()


def test_attack_routing_refused_route_is_a_clear_503_for_that_tenant_only(
    tenant_alpha, tenant_beta, beta_owner, alpha_owner
):
    """B's refused route answers B's API requests with a 503 that says why (not a 500),
    and A's requests are served as before."""
    from tests.personas import api_as

    beta_client, alpha_client = api_as(beta_owner, tenant_beta), api_as(alpha_owner, tenant_alpha)
    with platform_access("test: a plain URL written around the field"):
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TABLE} (tenant_id, mode, alias, url, owner_url, updated_at) "
                "VALUES (%s, 'dedicated', %s, %s, '', CURRENT_TIMESTAMP)",
                [tenant_beta.pk, EVIL_ALIAS, PLAIN_URL],
            )
    try:
        aliases.reset()
        refused = beta_client.get("/api/v1/settings/")
        assert refused.status_code == 503, refused.content
        assert refused.json()["error"]["code"] == "tenant_routing_refused"
        assert "route" in refused.json()["error"]["message"]
        assert refused["Retry-After"]
        served = alpha_client.get("/api/v1/settings/")
        assert served.status_code == 200, served.content
    finally:
        aliases.unregister(EVIL_ALIAS)
        aliases.reset()


@postgres_only("the live catalog")
@pytest.mark.parametrize(
    "breakage",
    [
        f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY",
        f"DROP POLICY dim_platform_update ON {TABLE}",
        f"ALTER POLICY dim_platform_delete ON {TABLE} USING (true)",
        f"CREATE POLICY dim_extra ON {TABLE} FOR INSERT WITH CHECK (tenant_id > 0)",
        f"GRANT TRUNCATE ON {TABLE} TO {{role}}",
    ],
    ids=["rls_off", "policy_dropped", "policy_loosened", "extra_policy", "truncate"],
)
def test_check_isolation_names_a_broken_routing_guard(breakage):
    """What an owner's mistake (or an old migration) could leave: check_isolation says
    so, naming the table."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from tenancy import rls_inspect, rls_platform
    from tenancy.models import Membership

    assert rls_inspect.inspect().ok, rls_inspect.inspect().problems  # positive control
    role = settings.DB_RUNTIME_ROLE
    as_owner(breakage.format(role=f'"{role}"'))
    try:
        problems = rls_inspect.inspect().problems
        assert any(TABLE in p for p in problems), problems
    finally:
        as_owner(f"DROP POLICY IF EXISTS dim_extra ON {TABLE}")
        for sql in rls_platform.statements(
            get_user_model()._meta.db_table, Membership._meta.db_table, role
        ):
            as_owner(sql)
    assert rls_inspect.inspect().ok
