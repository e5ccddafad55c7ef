"""`check_isolation`: read the live database and name everything that would let the
runtime role see, forge or bypass a tenant.

It checks the role (no superuser, no BYPASSRLS, no membership in any role, no CREATEROLE,
no temporary objects, no CREATE on the schema, no SELECT on sequences), the context
proof (key table unreadable, functions owned by someone else, SECURITY DEFINER and
STABLE with the expected body, key equal to the application's, and a live test that a
right proof is accepted while a forged, replayed or missing one matches nothing), and
every scoped table (RLS enabled and forced, exactly our policy, composite keys, no
TRUNCATE) and append-only table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connections, transaction

from tenancy import rls, rls_platform, rls_schedules
from tenancy.db import proof
from tenancy.models.scoped import scoped_models

_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


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


OBSERVABLE_NOTE = (
    "observable by any tenant with SQL: sizes and row counts of shared tables "
    "(pg_class.reltuples, pg_stat_user_tables, pg_relation_size), the global id sequences "
    "through the ids of its own new rows (nextval), the planner's estimates in EXPLAIN "
    "(built from every tenant's values: how common a value is across tenants), global "
    "write volume (txid_current, pg_stat_database), and which connections are active "
    "(pg_stat_activity shows statement texts with $n placeholders, never values)"
)


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
        report.problems += role_problems(cursor, role)
        report.problems += proof_problems(cursor, role)
        report.problems += definer_problems(cursor, role)
        report.problems += rls_platform.problems(cursor, role)
        report.problems += rls_schedules.problems(cursor, role)
        report.problems += binding_problems(connection)
        reference = _reference_policy(cursor)
        for model in scoped_models():
            table = model._meta.db_table
            report.tables_checked.append(table)
            report.problems += _table_problems(cursor, model, table, role, reference)
        for model in rls.append_only_models():
            report.problems += _append_only_problems(cursor, model, role)
    report.problems += live_proof_problems(connection)
    report.notes.append(OBSERVABLE_NOTE)
    return report


def role_problems(cursor, role: str) -> list[str]:
    cursor.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = %s", [role]
    )
    row = cursor.fetchone()
    if row is None:
        return [f"runtime role {role!r} does not exist"]
    problems = []
    is_super, bypass, createrole = row
    if is_super:
        problems.append(f"runtime role {role!r} is a superuser")
    if bypass:
        problems.append(f"runtime role {role!r} has BYPASSRLS")
    if createrole:
        problems.append(f"runtime role {role!r} has CREATEROLE (it could grant itself roles)")
    cursor.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "JOIN pg_roles me ON me.oid = m.member WHERE me.rolname = %s ORDER BY 1",
        [role],
    )
    for (name,) in cursor.fetchall():
        problems.append(
            f"runtime role {role!r} is a member of {name!r}: SET ROLE would change what "
            f"RLS lets it see; REVOKE {name} FROM {role}"
        )
    cursor.execute(
        "SELECT has_database_privilege(%s, current_database(), 'TEMP'), "
        "has_schema_privilege(%s, 'public', 'CREATE')",
        [role, role],
    )
    temp, create = cursor.fetchone()
    if temp:
        problems.append(
            f"runtime role {role!r} may create temporary objects, which shadow tables for "
            "later users of a pooled connection: REVOKE TEMPORARY ON DATABASE ... FROM PUBLIC"
        )
    if create:
        problems.append(f"runtime role {role!r} may CREATE in schema public")
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = 'public' "
        "AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(%s, c.oid, 'SELECT,USAGE') "
        "END "
        "ORDER BY 1 LIMIT 3",
        [role],
    )
    readable = [name for (name,) in cursor.fetchall()]
    if readable:
        problems.append(
            f"runtime role {role!r} may read sequences ({', '.join(readable)}, ...): "
            "their values count every tenant's rows"
        )
    return problems


def proof_problems(cursor, role: str) -> list[str]:
    problems = []
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{rls.KEY_TABLE}"])
    if not cursor.fetchone()[0]:
        return [f"context key table {rls.KEY_TABLE} is missing (run migrate as the owner)"]
    for privilege in _TABLE_PRIVILEGES:
        cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, rls.KEY_TABLE, privilege])
        if cursor.fetchone()[0]:
            problems.append(f"runtime role {role!r} may {privilege} the context key table")
    name = rls.CONTEXT_FUNCTION
    cursor.execute(
        "SELECT p.prosecdef, p.provolatile, p.prosrc, p.proconfig, "
        "pg_get_userbyid(p.proowner), pg_has_role(%s, p.proowner, 'MEMBER') "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname = %s AND p.pronargs = 0",
        [role, name],
    )
    row = cursor.fetchone()
    if row is None:
        return [*problems, f"function {name}() is missing (run migrate as the owner)"]
    definer, volatility, source, config, owner, member = row
    if owner == role or member:
        problems.append(
            f"function {name}() is owned by {owner!r}: the runtime role could replace it"
        )
    if not definer:
        problems.append(f"function {name}() is not SECURITY DEFINER")
    if volatility != "s":
        problems.append(f"function {name}() is not STABLE")
    if source != rls.function_body():
        problems.append(f"function {name}() has an unexpected body")
    if "search_path=pg_catalog" not in (config or []):
        problems.append(f"function {name}() does not pin search_path")
    return problems


def definer_problems(cursor, role: str) -> list[str]:
    """Every SECURITY DEFINER function of the schema (the context function, apps' own
    such as perf_mgr's ingest stage): run as the owner, so none may be callable by
    PUBLIC, replaceable by the runtime role, or resolve names through a search_path the
    caller chooses."""
    cursor.execute(
        "SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE'), "
        "pg_get_userbyid(p.proowner), pg_has_role(%s, p.proowner, 'MEMBER'), p.proconfig "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.prosecdef AND n.nspname = current_schema() ORDER BY 1",
        [role],
    )
    problems = []
    for name, public, owner, member, config in cursor.fetchall():
        if public:
            problems.append(
                f"SECURITY DEFINER function {name}() is executable by PUBLIC: "
                f"REVOKE ALL ON FUNCTION {name}() FROM PUBLIC"
            )
        if owner == role or member:
            problems.append(f"SECURITY DEFINER function {name}() is owned by {owner!r}")
        if "search_path=pg_catalog" not in (config or []):
            problems.append(f"SECURITY DEFINER function {name}() does not pin search_path")
    return problems


def binding_problems(connection) -> list[str]:
    if not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        return [
            "server-side binding is off: statement texts in pg_stat_activity would show "
            "other sessions' values (OPTIONS server_side_binding=True)"
        ]
    return []


def live_proof_problems(connection) -> list[str]:
    """Ask the server itself: the right proof names the tenant, anything else nothing."""
    try:
        return _live_proof_problems(connection)
    except psycopg.Error as exc:
        return [f"the context function fails ({exc.__class__.__name__}: {exc}): run migrate"]


def _live_proof_problems(connection) -> list[str]:
    problems = []
    probe_tenant = "987654321"
    with transaction.atomic(using=connection.alias):
        connection.ensure_connection()
        raw = connection.connection
        # A plain psycopg cursor: ours would send the context's own claim in between.
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(proof.IDENT_SQL)
            pid, port = cursor.fetchone()

            def verdict(claim: str, mac: str):
                cursor.execute(
                    "SELECT set_config('app.tenant_id', %s, true), "
                    "set_config('app.tenant_proof', %s, true)",
                    [claim, mac],
                )
                cursor.execute(f"SELECT public.{rls.CONTEXT_FUNCTION}()")
                return cursor.fetchone()[0]

            if verdict(probe_tenant, proof.proof(probe_tenant, pid, port)) != [int(probe_tenant)]:
                problems.append(
                    "the database refuses the application's proofs: DB_CONTEXT_KEY / "
                    "SECRET_KEY differs from the one migrate stored (run migrate again)"
                )
            forged = {
                "forged": (probe_tenant, "0" * 64),
                "replayed from another connection": (
                    probe_tenant,
                    proof.proof(probe_tenant, pid + 1, port),
                ),
                "missing": (probe_tenant, ""),
                "platform, forged": ("*", proof.proof(probe_tenant, pid, port)),
            }
            for what, (claim, mac) in forged.items():
                if verdict(claim, mac) is not None:
                    problems.append(f"the database accepts a {what} proof")
            if verdict("*", proof.proof("*", pid, port)) is None:
                problems.append("the database refuses the application's platform proof")
        transaction.set_rollback(True, using=connection.alias)
    return problems


def _reference_policy(cursor) -> tuple[str, str] | None:
    """How this server deparses our policy: the owner keeps a reference table with it,
    and the live policies must equal it exactly (a substring test would pass `OR true`)."""
    cursor.execute(
        "SELECT qual, with_check FROM pg_policies "
        "WHERE tablename = %s AND policyname = 'dim_reference'",
        [rls.REFERENCE_TABLE],
    )
    return cursor.fetchone()


def _append_only_problems(cursor, model, role: str) -> list[str]:
    table = model._meta.db_table
    problems = []
    for privilege in rls.refused_privileges(model):
        cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
        if cursor.fetchone()[0]:
            problems.append(f"table {table}: append-only, but role {role!r} may {privilege} it")
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
        [table, rls.POLICY],
    )
    policy = cursor.fetchone()
    if policy is None:
        problems.append(f"table {table}: policy {rls.POLICY} is missing")
    elif reference is None:
        problems.append(f"reference policy on {rls.REFERENCE_TABLE} is missing (run migrate)")
    else:
        qual, check, roles = policy
        if qual != reference[0]:
            problems.append(f"table {table}: policy {rls.POLICY} has an unexpected USING clause")
        if check != reference[1]:
            problems.append(f"table {table}: policy {rls.POLICY} has an unexpected WITH CHECK")
        if roles != ["public"]:
            problems.append(f"table {table}: policy {rls.POLICY} applies to {roles}, not PUBLIC")
    cursor.execute(
        "SELECT policyname, roles::text[] FROM pg_policies "
        "WHERE schemaname = current_schema() AND tablename = %s AND policyname <> %s",
        [table, rls.POLICY],
    )
    for name, roles in cursor.fetchall():
        problems.append(f"table {table}: unexpected policy {name} for {roles}")
    for name, _sql in rls.link_statements(model):
        cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [name])
        if cursor.fetchone() is None:
            problems.append(f"table {table}: composite tenant foreign key {name} is missing")
    cursor.execute("SELECT has_table_privilege(%s, %s, 'TRUNCATE')", [role, table])
    if cursor.fetchone()[0]:
        problems.append(f"table {table}: runtime role {role!r} may TRUNCATE it (ignores RLS)")
    return problems
