"""What a tenant's injected SQL tries on a platform table under the platform-claim write
guard (tenancy/rls_platform.py): shared by the attack tests of the routing map
(test_attack_routing.py) and of the lifecycle's rows (test_attack_lifecycle_rows.py).

Every attempt runs as the runtime role in the attacking tenant's context (its own proven
claim, no platform claim), in a savepoint of the test's transaction, and reports how
many rows it changed or the database's refusal."""

from __future__ import annotations

import os

import psycopg
from django.db import DatabaseError, connection, transaction

from tenancy.context import tenant_context


def run_as(tenant, sql: str, params=None) -> int | DatabaseError:
    """`sql` as `tenant`'s injection: the rows it changed, or the error it raised."""
    with tenant_context(tenant), connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute(sql, params)
                return cursor.rowcount
        except DatabaseError as exc:
            return exc


def refused(outcome: int | DatabaseError) -> bool:
    """A write that changed nothing: refused by the database, or no row it may touch."""
    return isinstance(outcome, DatabaseError) or outcome == 0


def ddl_attempts(table: str) -> dict[str, str]:
    """Ways to switch the guard off (or around) that only the owner may take."""
    return {
        "TRUNCATE": f"TRUNCATE {table}",
        "DISABLE ROW LEVEL SECURITY": f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        "DROP POLICY": f"DROP POLICY dim_platform_insert ON {table}",
        "CREATE POLICY": f"CREATE POLICY dim_evil ON {table} FOR ALL USING (true)",
        "DISABLE TRIGGER ALL": f"ALTER TABLE {table} DISABLE TRIGGER ALL",
        "OWNER TO": f"ALTER TABLE {table} OWNER TO CURRENT_USER",
        "SET ROLE": "SET ROLE dim_owner",
        "session_replication_role": "SET session_replication_role = replica",
    }


def with_forged_platform_claim(sql: str, params=None) -> int | DatabaseError:
    """`sql` on a connection of the runtime role's own (outside Django's), after setting
    the platform claim by hand with a made-up proof: autocommit, so a write that got
    through stays (the caller deletes it as the owner)."""
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(
            "SELECT set_config('app.tenant_id', '*', false), "
            "set_config('app.tenant_proof', %s, false)",
            ["0" * 64],
        )
        try:
            return conn.execute(sql, params).rowcount
        except psycopg.DatabaseError as exc:
            return DatabaseError(str(exc))


def as_owner(sql: str, params=None) -> int:
    """Clean-up as the tables' owner (not fenced by the guard: ENABLE without FORCE)."""
    with psycopg.connect(os.environ["DATABASE_OWNER_URL"], autocommit=True) as conn:
        return conn.execute(sql, params).rowcount
