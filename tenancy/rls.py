"""PostgreSQL Row-Level Security for every TenantScopedModel, applied after each migrate.

For each scoped table, idempotently:
- ENABLE and FORCE ROW LEVEL SECURITY (FORCE: the owner is fenced too);
- policy `dim_tenant_isolation` (USING and WITH CHECK) on
  `tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint)`:
  the sub-select makes PostgreSQL evaluate the setting once per statement (an InitPlan)
  and lets `(tenant_id, ...)` indexes drive the scan; an unset or reset setting is NULL
  and matches no row instead of raising;
- policy `dim_platform_access` for the platform role only (the escape hatch);
- a unique index on `(tenant_id, id)` and, for every foreign key between scoped tables,
  a composite foreign key `(tenant_id, fk) -> (tenant_id, id)`, because PostgreSQL checks
  plain foreign keys without RLS: without it raw SQL could link A's row to B's;
- privileges for the runtime role (never TRUNCATE, which ignores RLS);
- for models declaring `append_only = True` (scoped or not, e.g. the audit log), only
  SELECT and INSERT for the runtime and platform roles: the database itself refuses
  UPDATE and DELETE, whatever the application does. An append-only model that is also
  `consumable = True` (a queue, e.g. the audit log's pending entries) gets DELETE too:
  its rows are inserted and later consumed whole, never changed.

`inspect()` reads the live catalog and returns the problems `check_isolation` reports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, transaction

from tenancy.models.scoped import scoped_models

TENANT_EXPR = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint)"
POLICY = "dim_tenant_isolation"
PLATFORM_POLICY = "dim_platform_access"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _short(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:10]
    return f"{prefix}_{digest}"


def scoped_links(model):
    """(fk column, target table, target pk column) for FKs between scoped tables."""
    from tenancy.models.scoped import _scoped_fk_fields

    for fk in _scoped_fk_fields(model):
        yield fk.column, fk.related_model._meta.db_table, fk.target_field.column


def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def statements_for(model, *, platform_role: str | None, runtime_role: str | None):
    table = _ident(model._meta.db_table)
    pk = _ident(model._meta.pk.column)
    yield f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"
    yield f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"
    yield f"DROP POLICY IF EXISTS {POLICY} ON {table}"
    yield (
        f"CREATE POLICY {POLICY} ON {table} AS PERMISSIVE FOR ALL TO PUBLIC "
        f"USING (tenant_id = {TENANT_EXPR}) WITH CHECK (tenant_id = {TENANT_EXPR})"
    )
    yield f"DROP POLICY IF EXISTS {PLATFORM_POLICY} ON {table}"
    if platform_role:
        yield (
            f"CREATE POLICY {PLATFORM_POLICY} ON {table} AS PERMISSIVE FOR ALL "
            f"TO {_ident(platform_role)} USING (true) WITH CHECK (true)"
        )
    yield (
        f"CREATE UNIQUE INDEX IF NOT EXISTS {_short('dim_tid', model._meta.db_table)} "
        f"ON {table} (tenant_id, {pk})"
    )
    for role in filter(None, (runtime_role, platform_role)):
        yield f"GRANT {_privileges(model)} ON {table} TO {_ident(role)}"


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
    models = scoped_models()
    with connection.cursor() as cursor:
        platform_role = settings.DB_PLATFORM_ROLE
        if not platform_role or not _role_exists(cursor, platform_role):
            platform_role = None
        if runtime_role and not _role_exists(cursor, runtime_role):
            raise RuntimeError(f"DB_RUNTIME_ROLE {runtime_role!r} does not exist")
        for model in models:
            for sql in statements_for(
                model, platform_role=platform_role, runtime_role=runtime_role
            ):
                cursor.execute(sql)
        for model in models:
            for name, sql in link_statements(model):
                cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(sql)
        for role in filter(None, (runtime_role, platform_role)):
            # Unscoped tables (tenants, users, sessions) and every sequence.
            cursor.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                f"TO {_ident(role)}"
            )
            cursor.execute(
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_ident(role)}"
            )
            # The blanket grant above covers append-only tables too: take it back.
            for model in append_only_models():
                cursor.execute(
                    f"REVOKE {', '.join(refused_privileges(model))} "
                    f"ON {_ident(model._meta.db_table)} FROM {_ident(role)}"
                )
    if verbosity:
        print(f"  Row-level security applied to {len(models)} tenant-scoped tables.")
    return len(models)


@dataclass
class IsolationReport:
    vendor: str
    runtime_role: str | None = None
    tables_checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "vendor": self.vendor,
            "runtime_role": self.runtime_role,
            "tables_checked": self.tables_checked,
            "problems": self.problems,
            "notes": self.notes,
        }


def _runtime_role_problems(cursor, role: str) -> list[str]:
    cursor.execute(
        """
        WITH RECURSIVE member_of(oid) AS (
            SELECT oid FROM pg_roles WHERE rolname = %s
            UNION
            SELECT m.roleid FROM pg_auth_members m JOIN member_of ON m.member = member_of.oid
        )
        SELECT r.rolname, r.rolsuper, r.rolbypassrls
        FROM pg_roles r JOIN member_of USING (oid)
        """,
        [role],
    )
    rows = cursor.fetchall()
    if not rows:
        return [f"runtime role {role!r} does not exist"]
    problems = []
    cursor.execute("SELECT rolinherit FROM pg_roles WHERE rolname = %s", [role])
    inherits = cursor.fetchone()[0]
    platform = settings.DB_PLATFORM_ROLE
    if inherits and any(name == platform for name, _s, _b in rows):
        problems.append(
            f"runtime role {role!r} inherits {platform!r}: make it NOINHERIT so the "
            "platform policy applies only inside platform_access()"
        )
    for name, is_super, bypass in rows:
        via = "" if name == role else f" through membership in {name!r}"
        if is_super:
            problems.append(f"runtime role {role!r} is a superuser{via}")
        if bypass:
            problems.append(f"runtime role {role!r} has BYPASSRLS{via}")
    return problems


def inspect(using: str = "default") -> IsolationReport:
    connection = connections[using]
    report = IsolationReport(vendor=connection.vendor)
    if connection.vendor != "postgresql":
        report.notes.append(
            f"{connection.vendor}: no row-level security; isolation rests on ORM scoping "
            "alone. Use PostgreSQL (DATABASE_URL) in production."
        )
        return report
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        role = settings.DB_RUNTIME_ROLE or cursor.fetchone()[0]
        report.runtime_role = role
        report.problems += _runtime_role_problems(cursor, role)
        reference = _reference_policy(connection, cursor)
        for model in scoped_models():
            table = model._meta.db_table
            report.tables_checked.append(table)
            report.problems += _table_problems(cursor, model, table, role, reference)
        for model in append_only_models():
            report.problems += _append_only_problems(cursor, model, role)
    return report


def _reference_policy(connection, cursor) -> tuple[str, str]:
    """How this server deparses our policy, from a throw-away temp table: the live
    policies must equal it exactly (a substring test would pass `... OR true`)."""
    with transaction.atomic(using=connection.alias):
        cursor.execute("CREATE TEMP TABLE dim_policy_reference (tenant_id bigint) ON COMMIT DROP")
        cursor.execute(
            f"CREATE POLICY dim_reference ON dim_policy_reference "
            f"USING (tenant_id = {TENANT_EXPR}) WITH CHECK (tenant_id = {TENANT_EXPR})"
        )
        cursor.execute(
            "SELECT qual, with_check FROM pg_policies "
            "WHERE tablename = 'dim_policy_reference' AND policyname = 'dim_reference'"
        )
        reference = cursor.fetchone()
        transaction.set_rollback(True, using=connection.alias)
    return reference


def _append_only_problems(cursor, model, role: str) -> list[str]:
    table = model._meta.db_table
    problems = []
    roles = [role]
    if settings.DB_PLATFORM_ROLE and _role_exists(cursor, settings.DB_PLATFORM_ROLE):
        roles.append(settings.DB_PLATFORM_ROLE)
    for who in roles:
        for privilege in refused_privileges(model):
            cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [who, table, privilege])
            if cursor.fetchone()[0]:
                problems.append(f"table {table}: append-only, but role {who!r} may {privilege} it")
    return problems


def _table_problems(cursor, model, table: str, role: str, reference) -> list[str]:
    cursor.execute(
        """
        SELECT c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relname = %s AND n.nspname = current_schema()
        """,
        [table],
    )
    row = cursor.fetchone()
    if row is None:
        return [f"table {table}: missing (run migrate)"]
    enabled, forced, owner = row
    problems = []
    if not enabled:
        problems.append(f"table {table}: row-level security is not enabled")
    if not forced:
        problems.append(f"table {table}: row-level security is not FORCEd")
    if owner == role:
        problems.append(f"table {table}: owned by the runtime role {role!r}")
    cursor.execute(
        "SELECT qual, with_check, roles::text[] FROM pg_policies "
        "WHERE schemaname = current_schema() AND tablename = %s AND policyname = %s",
        [table, POLICY],
    )
    policy = cursor.fetchone()
    if policy is None:
        problems.append(f"table {table}: policy {POLICY} is missing")
    else:
        qual, check, roles = policy
        if qual != reference[0]:
            problems.append(f"table {table}: policy {POLICY} has an unexpected USING clause")
        if check != reference[1]:
            problems.append(f"table {table}: policy {POLICY} has an unexpected WITH CHECK")
        if roles != ["public"]:
            problems.append(f"table {table}: policy {POLICY} applies to {roles}, not PUBLIC")
    cursor.execute(
        "SELECT policyname, roles::text[] FROM pg_policies "
        "WHERE schemaname = current_schema() AND tablename = %s AND policyname <> %s",
        [table, POLICY],
    )
    for name, roles in cursor.fetchall():
        if name != PLATFORM_POLICY or roles != [settings.DB_PLATFORM_ROLE]:
            problems.append(f"table {table}: unexpected policy {name} for {roles}")
    for name, _sql in link_statements(model):
        cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [name])
        if cursor.fetchone() is None:
            problems.append(f"table {table}: composite tenant foreign key {name} is missing")
    cursor.execute("SELECT has_table_privilege(%s, %s, 'TRUNCATE')", [role, f"{table}"])
    if cursor.fetchone()[0]:
        problems.append(f"table {table}: runtime role {role!r} may TRUNCATE it (ignores RLS)")
    return problems
