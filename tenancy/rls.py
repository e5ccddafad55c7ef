"""PostgreSQL Row-Level Security for every TenantScopedModel, applied after each migrate.

Once per database: the context key table (its HMAC pads, readable by the owner only) and
the owner-owned SECURITY DEFINER function that verifies the connection's claim and
proof (`tenancy/db/proof.py`), returning the proven tenant id (or every id, for platform access).
The runtime role may not create temporary objects and may only `nextval()` sequences.

For each scoped table, idempotently:
- ENABLE and FORCE ROW LEVEL SECURITY (FORCE: the owner is fenced too);
- policy `dim_tenant_isolation` (USING and WITH CHECK) on
  `tenant_id = ANY ((SELECT dim_context_tenants())::bigint[])`: the sub-select is an
  InitPlan evaluated once per statement, `(tenant_id, ...)` indexes drive the scan, and
  a missing, forged or replayed proof is NULL and matches no row instead of raising;
- a unique index on `(tenant_id, id)` and, for every foreign key between scoped tables,
  a composite foreign key `(tenant_id, fk) -> (tenant_id, id)`, because PostgreSQL checks
  plain foreign keys without RLS: without it raw SQL could link A's row to B's;
- privileges for the runtime role (never TRUNCATE, which ignores RLS);
- for models declaring `append_only = True` (scoped or not, e.g. the audit log), only
  SELECT and INSERT for the runtime role: the database itself refuses UPDATE and DELETE,
  whatever the application does. An append-only model that is also `consumable = True`
  (a queue, e.g. the audit log's pending entries) gets DELETE too: its rows are inserted
  and later consumed whole, never changed.

`tenancy.rls_inspect.inspect()` reads the live catalog and returns the problems
`check_isolation` reports.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections

from tenancy import rls_platform, rls_schedules
from tenancy.models.scoped import scoped_models
from tenancy.rls_names import (  # noqa: F401  (KEY_TABLE ... POLICY: this module's vocabulary)
    CONTEXT_FUNCTION,
    KEY_TABLE,
    LEGACY_POLICIES,
    POLICY,
    POLICY_EXPR,
    REFERENCE_TABLE,
    TENANT_EXPR,
)
from tenancy.rls_names import ident as _ident
from tenancy.rls_names import short as _short


# The claim's proof, recomputed by the server (see tenancy/db/proof.py). SECURITY DEFINER
# so that it reads a key the runtime role cannot; STABLE so the policy evaluates it once
# per statement; search_path pinned so no object the caller controls is ever resolved;
# PL/pgSQL because it keeps its plans for the session (an SQL function's body would be
# parsed and planned again for every statement: ~150 µs instead of ~10).
# A missing, forged or replayed proof gives NULL: no row matches.
def function_body() -> str:
    from tenancy.models.tenant import Tenant

    return f"""
DECLARE
    claim text := current_setting('app.tenant_id', true);
    given text := current_setting('app.tenant_proof', true);
    ipad bytea;
    opad bytea;
BEGIN
    IF claim IS NULL OR claim = '' OR given IS NULL OR length(given) <> 64 THEN
        RETURN NULL;
    END IF;
    SELECT k.ipad, k.opad INTO ipad, opad FROM public.{KEY_TABLE} k WHERE k.id = 1;
    IF ipad IS NULL OR given <> encode(sha256(opad || sha256(ipad || convert_to(
            claim || ':' || pg_backend_pid() || ':' || coalesce(inet_client_port(), 0),
            'UTF8'))), 'hex') THEN
        RETURN NULL;
    END IF;
    IF claim = '*' THEN
        RETURN (SELECT coalesce(array_agg(t.id), '{{}}') FROM public.{Tenant._meta.db_table} t);
    END IF;
    IF claim ~ '^[1-9][0-9]{{0,17}}$' THEN
        RETURN ARRAY[claim::bigint];
    END IF;
    RETURN NULL;
END
"""


def function_statements():
    for legacy in ("dim_context_tenant", "dim_context_platform"):
        yield f"DROP FUNCTION IF EXISTS public.{legacy}()"
    yield (
        f"CREATE OR REPLACE FUNCTION public.{CONTEXT_FUNCTION}() RETURNS bigint[] "
        "LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog "
        f"AS $dim${function_body()}$dim$"
    )
    yield f"REVOKE ALL ON FUNCTION public.{CONTEXT_FUNCTION}() FROM PUBLIC"


def scoped_links(model):
    """(fk column, target table, target pk column) for FKs between scoped tables."""
    from tenancy.models.scoped import _scoped_fk_fields

    for fk in _scoped_fk_fields(model):
        yield fk.column, fk.related_model._meta.db_table, fk.target_field.column


def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def statements_for(model, *, runtime_role: str | None):
    table = _ident(model._meta.db_table)
    pk = _ident(model._meta.pk.column)
    yield f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"
    yield f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"
    for legacy in LEGACY_POLICIES:
        yield f"DROP POLICY IF EXISTS {legacy} ON {table}"
    yield f"DROP POLICY IF EXISTS {POLICY} ON {table}"
    yield (
        f"CREATE POLICY {POLICY} ON {table} AS PERMISSIVE FOR ALL TO PUBLIC "
        f"USING ({POLICY_EXPR}) WITH CHECK ({POLICY_EXPR})"
    )
    yield (
        f"CREATE UNIQUE INDEX IF NOT EXISTS {_short('dim_tid', model._meta.db_table)} "
        f"ON {table} (tenant_id, {pk})"
    )
    if runtime_role:
        yield f"GRANT {_privileges(model)} ON {table} TO {_ident(runtime_role)}"


def _key_statements(cursor) -> None:
    from tenancy.db import proof

    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {KEY_TABLE} (id int PRIMARY KEY CHECK (id = 1), "
        "ipad bytea NOT NULL, opad bytea NOT NULL, fingerprint text NOT NULL)"
    )
    cursor.execute(f"REVOKE ALL ON {KEY_TABLE} FROM PUBLIC")
    ipad, opad = proof.pads()
    cursor.execute(
        f"INSERT INTO {KEY_TABLE} (id, ipad, opad, fingerprint) VALUES (1, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET ipad = EXCLUDED.ipad, opad = EXCLUDED.opad, "
        "fingerprint = EXCLUDED.fingerprint",
        [ipad, opad, proof.key_fingerprint()],
    )
    for sql in function_statements():
        cursor.execute(sql)
    # The reference policy check_isolation compares every live policy with (the runtime
    # role may not create temporary tables, so it cannot make one itself).
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {REFERENCE_TABLE} (tenant_id bigint)")
    cursor.execute(f"REVOKE ALL ON {REFERENCE_TABLE} FROM PUBLIC")
    cursor.execute(f"DROP POLICY IF EXISTS dim_reference ON {REFERENCE_TABLE}")
    cursor.execute(
        f"CREATE POLICY dim_reference ON {REFERENCE_TABLE} "
        f"USING ({POLICY_EXPR}) WITH CHECK ({POLICY_EXPR})"
    )


def is_append_only(model) -> bool:
    return bool(getattr(model, "append_only", False))


def append_only_models():
    from django.apps import apps

    return [m for m in apps.get_models() if is_append_only(m)]


def is_consumable(model) -> bool:
    return is_append_only(model) and bool(getattr(model, "consumable", False))


def refused_privileges(model) -> tuple[str, ...]:
    """What the runtime and platform roles must not hold on an append-only table."""
    if not is_append_only(model):
        return ()
    return ("UPDATE", "TRUNCATE") if is_consumable(model) else ("UPDATE", "DELETE", "TRUNCATE")


def _privileges(model) -> str:
    if is_consumable(model):
        return "SELECT, INSERT, DELETE"
    return "SELECT, INSERT" if is_append_only(model) else "SELECT, INSERT, UPDATE, DELETE"


def _link_targets(model) -> list[str]:
    return [target for _column, target, _pk in scoped_links(model)]


def link_statements(model):
    table = model._meta.db_table
    for column, target, target_pk in scoped_links(model):
        name = _short("dim_tfk", table, column)
        yield (
            name,
            (
                f"ALTER TABLE {_ident(table)} ADD CONSTRAINT {name} "
                f"FOREIGN KEY (tenant_id, {_ident(column)}) "
                f"REFERENCES {_ident(target)} (tenant_id, {_ident(target_pk)}) "
                "DEFERRABLE INITIALLY DEFERRED"
            ),
        )


def apply(using: str = "default", verbosity: int = 1) -> int:
    """Idempotently put every scoped table under RLS. Returns the number of tables."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    runtime_role = settings.DB_RUNTIME_ROLE or None
    with connection.cursor() as cursor:
        # Only the tables that exist: after a partial migrate (`migrate <app> <name>`)
        # a later migration's table is not there yet; its own migrate applies RLS to it
        # (this runs after every migrate), and check_isolation reports any table without.
        present = set(connection.introspection.table_names(cursor))
        models = [m for m in scoped_models() if m._meta.db_table in present]
        if runtime_role and not _role_exists(cursor, runtime_role):
            raise RuntimeError(f"DB_RUNTIME_ROLE {runtime_role!r} does not exist")
        _key_statements(cursor)
        for model in models:
            for sql in statements_for(model, runtime_role=runtime_role):
                cursor.execute(sql)
        for model in models:
            for name, sql in link_statements(model):
                if not all(t in present for t in _link_targets(model)):
                    continue
                cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(sql)
        # Temporary objects shadow real tables for later statements on a pooled
        # connection (pg_temp is searched first): nobody but the owner may make them.
        cursor.execute("SELECT current_database()")
        database = _ident(cursor.fetchone()[0])
        cursor.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM PUBLIC")
        # Memberships, superusers, permissions and the platform tables apps register
        # (routing, tiers, lifecycle states): written only with a verified claim.
        rls_platform.apply(cursor, runtime_role, present)
        # Beat's schedules: defined only with the platform claim.
        rls_schedules.apply(cursor, runtime_role, set(connection.introspection.table_names(cursor)))
        if runtime_role:
            role = _ident(runtime_role)
            cursor.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM {role}")
            cursor.execute(f"GRANT EXECUTE ON FUNCTION public.{CONTEXT_FUNCTION}() TO {role}")
            # Unscoped tables (tenants, users, sessions).
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            )
            for private in (KEY_TABLE, REFERENCE_TABLE):
                cursor.execute(f"REVOKE ALL ON {private} FROM {role}")
            # Sequences: nextval() only, which UPDATE allows. SELECT or USAGE would show
            # every tenant's insert count (pg_sequences.last_value admits either).
            cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
            cursor.execute(f"GRANT UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")
            # The blanket grant above covers append-only tables too: take it back.
            for model in append_only_models():
                cursor.execute(
                    f"REVOKE {', '.join(refused_privileges(model))} "
                    f"ON {_ident(model._meta.db_table)} FROM {role}"
                )
    if verbosity:
        print(f"  Row-level security applied to {len(models)} tenant-scoped tables.")
    return len(models)
