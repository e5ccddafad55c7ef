"""Guards on the platform tables that decide who may act for which tenant.

Memberships, users and Django's permissions are not tenant-scoped: login and tenant
resolution read them before any tenant is in context, so the runtime role keeps its
privileges on them. Without a guard, SQL injection in tenant A could write them and
switch tenant through the front door: `INSERT INTO tenancy_membership` (A's attacker
becomes a member of B), `UPDATE auth_user SET is_superuser = true` (the console's
platform escape hatch), a superuser's password, or a Django permission on the stock
user admin. The database now asks for the same verified claim as on scoped rows:

- `tenancy_membership`: everyone reads; writing a membership of tenant T needs a
  proven claim for T (or platform access), i.e. `tenant_context(T)` in Python;
- `auth_user`: making a superuser, or changing a superuser's password, username, email,
  id or re-activating one, needs the platform claim (a trigger: the check compares
  the old and new rows); the superuser's own `last_login` update needs nothing;
- `auth_user_user_permissions`, `auth_user_groups`, `auth_group_permissions`,
  `auth_permission`: writes need the platform claim;
- tables a higher layer registers with `guard_platform_table()` (tenancy imports no
  app above it): the connection manager's routing map (which database holds a tenant's
  rows), the lifecycle's tiers and tenant states. Same policies: everyone reads,
  INSERT, UPDATE and DELETE need the platform claim (`platform_access()` in Python).

The runtime role never gets TRUNCATE on a guarded table (TRUNCATE ignores RLS), and it
owns none of them, so it can neither ALTER them (disable RLS, drop a policy) nor
disable a trigger; `problems()` checks all of it.

ENABLE without FORCE: the owner (migrations, `create_permissions`) is not fenced.
Still open (README threat model): an ordinary user's password hash is writable and
readable by the runtime role.
"""

from __future__ import annotations

from tenancy.rls_names import TENANT_EXPR
from tenancy.rls_names import ident as _ident

PLATFORM_FUNCTION = "dim_context_is_platform"
PLATFORM_EXPR = f"(SELECT public.{PLATFORM_FUNCTION}())"
USER_TRIGGER = "dim_guard_superuser"
MEMBERSHIP_POLICIES = ("dim_membership_read", "dim_membership_write")
PLATFORM_WRITE_TABLES = (
    "auth_user_user_permissions",
    "auth_user_groups",
    "auth_group_permissions",
    "auth_permission",
)

#: {table: what a forged row would do}: platform tables of higher layers, registered
#: from their AppConfig.ready() (`guard_platform_table`), guarded after every migrate.
registered_tables: dict[str, str] = {}


def guard_platform_table(table: str, decides: str) -> None:
    """Have the database refuse writes to `table` without the platform claim. `decides`
    says what a forged row would decide (check_isolation's message)."""
    registered_tables[table] = decides


def guarded_tables() -> dict[str, str]:
    """Every table under the platform-claim write guard, with what it decides."""
    fixed = {t: "grant access to another tenant" for t in PLATFORM_WRITE_TABLES}
    return {**fixed, **registered_tables}


_PLATFORM_BODY = (
    "SELECT coalesce(current_setting('app.tenant_id', true) = '*' "
    "AND public.dim_context_tenants() IS NOT NULL, false)"
)

_USER_GUARD_BODY = """
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.is_superuser AND NOT public.dim_context_is_platform() THEN
            RAISE EXCEPTION 'only platform access may create a superuser'
                USING ERRCODE = '42501';
        END IF;
    ELSIF (NEW.is_superuser AND NOT OLD.is_superuser)
        OR (OLD.is_superuser AND (
            NEW.id IS DISTINCT FROM OLD.id
            OR NEW.password IS DISTINCT FROM OLD.password
            OR NEW.username IS DISTINCT FROM OLD.username
            OR NEW.email IS DISTINCT FROM OLD.email
            OR (NEW.is_active AND NOT OLD.is_active))) THEN
        IF NOT public.dim_context_is_platform() THEN
            RAISE EXCEPTION 'only platform access may make or change a superuser'
                USING ERRCODE = '42501';
        END IF;
    END IF;
    RETURN NEW;
END
"""


def statements(
    user_table: str,
    membership_table: str,
    runtime_role: str | None,
    tables_present: set[str] | None = None,
):
    yield (
        f"CREATE OR REPLACE FUNCTION public.{PLATFORM_FUNCTION}() RETURNS boolean "
        "LANGUAGE sql STABLE SET search_path = pg_catalog "
        f"AS $dim${_PLATFORM_BODY}$dim$"
    )
    yield f"REVOKE ALL ON FUNCTION public.{PLATFORM_FUNCTION}() FROM PUBLIC"
    if runtime_role:
        yield f"GRANT EXECUTE ON FUNCTION public.{PLATFORM_FUNCTION}() TO {_ident(runtime_role)}"
    yield (
        f"CREATE OR REPLACE FUNCTION public.{USER_TRIGGER}() RETURNS trigger "
        "LANGUAGE plpgsql SET search_path = pg_catalog "
        f"AS $dim${_USER_GUARD_BODY}$dim$"
    )
    user = _ident(user_table)
    yield f"DROP TRIGGER IF EXISTS {USER_TRIGGER} ON {user}"
    yield (
        f"CREATE TRIGGER {USER_TRIGGER} BEFORE INSERT OR UPDATE ON {user} "
        f"FOR EACH ROW EXECUTE FUNCTION public.{USER_TRIGGER}()"
    )
    members = _ident(membership_table)
    in_claim = f"tenant_id = ANY (({TENANT_EXPR}))"
    yield f"ALTER TABLE {members} ENABLE ROW LEVEL SECURITY"
    for name in MEMBERSHIP_POLICIES:
        yield f"DROP POLICY IF EXISTS {name} ON {members}"
    yield from _read_all_write_if(members, "dim_membership", in_claim)
    for table in guarded_tables():
        if tables_present is not None and table not in tables_present:
            continue  # a later migration's table (partial migrate): its migrate guards it
        ident = _ident(table)
        yield f"ALTER TABLE {ident} ENABLE ROW LEVEL SECURITY"
        yield f"DROP POLICY IF EXISTS dim_platform_read ON {ident}"
        yield from _read_all_write_if(ident, "dim_platform", PLATFORM_EXPR)
        if runtime_role:
            # TRUNCATE ignores RLS; the blanket grant never gives it, say so anyway.
            yield f"REVOKE TRUNCATE ON {ident} FROM {_ident(runtime_role)}"


def _read_all_write_if(table: str, prefix: str, allowed: str):
    """Policies on `table`: every row readable; INSERT, UPDATE and DELETE only where
    `allowed` holds (permissive policies combine with OR per command, so writes only ever
    match their own policy)."""
    yield f"CREATE POLICY {prefix}_read ON {table} FOR SELECT USING (true)"
    for command, clause in (
        ("INSERT", f"WITH CHECK ({allowed})"),
        ("UPDATE", f"USING ({allowed}) WITH CHECK ({allowed})"),
        ("DELETE", f"USING ({allowed})"),
    ):
        name = f"{prefix}_{command.lower()}"
        yield f"DROP POLICY IF EXISTS {name} ON {table}"
        yield f"CREATE POLICY {name} ON {table} FOR {command} {clause}"


def apply(cursor, runtime_role: str | None, tables_present: set[str] | None = None) -> None:
    from django.contrib.auth import get_user_model

    from tenancy.models.tenant import Membership

    user_table = get_user_model()._meta.db_table
    for sql in statements(user_table, Membership._meta.db_table, runtime_role, tables_present):
        cursor.execute(sql)


def problems(cursor, role: str | None = None) -> list[str]:
    """What check_isolation reports when a guard is missing."""
    from django.contrib.auth import get_user_model

    from tenancy.models.tenant import Membership

    found = []
    cursor.execute(
        "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname = %s AND t.tgname = %s AND t.tgenabled <> 'D'",
        [get_user_model()._meta.db_table, USER_TRIGGER],
    )
    if cursor.fetchone() is None:
        found.append(
            f"trigger {USER_TRIGGER} on the user table is missing or disabled: SQL could make "
            "a superuser (run migrate as the owner)"
        )
    guarded = [(Membership._meta.db_table, "dim_membership", "grant access to another tenant")]
    guarded += [(t, "dim_platform", decides) for t, decides in guarded_tables().items()]
    for table, prefix, decides in guarded:
        # Every write policy, exactly as made: one dropped, or one loosened to `true`
        # (permissive policies OR together), opens the table.
        cursor.execute(
            "SELECT c.relrowsecurity, pg_get_userbyid(c.relowner) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = current_schema()",
            [table],
        )
        row = cursor.fetchone()
        if row is None:
            continue  # not migrated (yet): the scoped tables' check reports missing ones
        enabled, owner = row
        cursor.execute(
            "SELECT policyname, coalesce(qual, ''), coalesce(with_check, '') FROM pg_policies "
            "WHERE schemaname = current_schema() AND tablename = %s AND policyname <> %s",
            [table, f"{prefix}_read"],
        )
        policies = cursor.fetchall()
        names = {name for name, _qual, _check in policies}
        wanted = {f"{prefix}_{c}" for c in ("insert", "update", "delete")}
        loosened = [name for name, qual, check in policies if "true" in (qual, check)]
        if not enabled or names != wanted or loosened:
            found.append(
                f"table {table}: its write guard (RLS, {prefix}_insert/update/delete) is "
                f"missing or altered: SQL could {decides} (run migrate as the owner)"
            )
        if role and owner == role:
            found.append(f"table {table}: owned by the runtime role {role!r}")
        if role:
            cursor.execute("SELECT has_table_privilege(%s, %s, 'TRUNCATE')", [role, table])
            if cursor.fetchone()[0]:
                found.append(f"table {table}: runtime role {role!r} may TRUNCATE it (ignores RLS)")
    return found
