"""Guards on beat's tables (django-celery-beat): what runs, when, with which arguments.

They have no tenant, and the runtime role must read them (beat runs as it) and write
its bookkeeping. Unguarded, SQL injection in tenant A could schedule
`tenancy.tasks.fan_out_task` with a task and arguments of its choosing in *every*
tenant, or quietly disable the audit log's signing and verification. So, as for
memberships (tenancy/rls_platform.py), the database asks for the platform claim
(`platform_access()` in Python; the console's platform operators work under it):

- periodic tasks and their interval, crontab, solar and clocked schedules: everyone
  reads; INSERT and DELETE need the platform claim;
- UPDATE: a trigger compares the old and new rows and refuses, without the claim, any
  change but beat's bookkeeping (`last_run_at`, `total_run_count`, `date_changed`)
  and beat disabling a one-off task after its run or a task whose `expires` passed.
  A write that changes nothing passes: beat's start rewrites `celery.backend_cleanup`
  with the definition it already has (tenancy/schedules.py seeds that one).
- `django_celery_beat_periodictasks` (one row, "the schedule changed at") stays open:
  beat and every save write it, and at worst a forged date delays beat's noticing an
  operator's edit until its five-minute full reload.

ENABLE without FORCE, and the trigger stands aside where RLS does not apply
(`row_security_active`): the owner (migrate, the seeding step) is not fenced.
"""

from __future__ import annotations

from tenancy.rls_names import ident as _ident
from tenancy.rls_platform import PLATFORM_EXPR

TRIGGER = "dim_guard_schedule"
INSERT_POLICY = "dim_schedule_insert"
# Columns the runtime role may change without the platform claim, per model.
BOOKKEEPING = {
    "PeriodicTask": ("last_run_at", "total_run_count", "date_changed"),
    "IntervalSchedule": (),
    "CrontabSchedule": (),
    "SolarSchedule": (),
    "ClockedSchedule": (),
}

_GUARD_BODY = """
DECLARE
    free text[] := coalesce(TG_ARGV, '{}');
    old_row jsonb;
    new_row jsonb;
BEGIN
    IF NOT row_security_active(TG_RELID) OR public.dim_context_is_platform() THEN
        RETURN NEW;
    END IF;
    old_row := to_jsonb(OLD) - free;
    new_row := to_jsonb(NEW) - free;
    IF new_row IS NOT DISTINCT FROM old_row THEN
        RETURN NEW;
    END IF;
    -- Beat's own: a one-off task disabled after its run, an expired task disabled.
    IF (new_row - 'enabled') IS NOT DISTINCT FROM (old_row - 'enabled')
        AND (old_row->>'enabled')::boolean AND NOT (new_row->>'enabled')::boolean
        AND (coalesce((old_row->>'one_off')::boolean, false)
             OR (old_row->>'expires')::timestamptz <= now()) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'only platform access may change schedules (table %)', TG_TABLE_NAME
        USING ERRCODE = '42501', HINT = 'a schedule decides what runs in every tenant';
END
"""


def guarded_models():
    from django.apps import apps

    if not apps.is_installed("django_celery_beat"):
        return []
    return [apps.get_model("django_celery_beat", name) for name in BOOKKEEPING]


def statements(runtime_role: str | None, tables_present: set[str]):
    yield (
        f"CREATE OR REPLACE FUNCTION public.{TRIGGER}() RETURNS trigger "
        "LANGUAGE plpgsql SET search_path = pg_catalog "
        f"AS $dim${_GUARD_BODY}$dim$"
    )
    for model in guarded_models():
        if model._meta.db_table not in tables_present:
            continue
        table = _ident(model._meta.db_table)
        yield f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"
        yield f"DROP POLICY IF EXISTS dim_schedule_read ON {table}"
        yield f"CREATE POLICY dim_schedule_read ON {table} FOR SELECT USING (true)"
        for command, clause in (
            ("INSERT", f"WITH CHECK ({PLATFORM_EXPR})"),
            ("UPDATE", "USING (true) WITH CHECK (true)"),  # the trigger decides
            ("DELETE", f"USING ({PLATFORM_EXPR})"),
        ):
            name = f"dim_schedule_{command.lower()}"
            yield f"DROP POLICY IF EXISTS {name} ON {table}"
            yield f"CREATE POLICY {name} ON {table} FOR {command} {clause}"
        free = ", ".join(f"'{column}'" for column in BOOKKEEPING[model.__name__])
        yield f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}"
        yield (
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION public.{TRIGGER}({free})"
        )
        if runtime_role:
            # TRUNCATE ignores RLS; the blanket grant never gives it, say so anyway.
            yield f"REVOKE TRUNCATE ON {table} FROM {_ident(runtime_role)}"


def apply(cursor, runtime_role: str | None, tables_present: set[str]) -> None:
    for sql in statements(runtime_role, tables_present):
        cursor.execute(sql)


def problems(cursor, role: str) -> list[str]:
    """What check_isolation reports when a guard is missing."""
    found = []
    for model in guarded_models():
        table = model._meta.db_table
        cursor.execute(
            "SELECT c.relrowsecurity, "
            "EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = n.nspname "
            "AND p.tablename = c.relname AND p.policyname = %s), "
            "EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid "
            "AND t.tgname = %s AND t.tgenabled <> 'D') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = current_schema()",
            [INSERT_POLICY, TRIGGER, table],
        )
        row = cursor.fetchone()
        if row is None:
            found.append(f"table {table}: missing (run migrate)")
            continue
        if not all(row):
            found.append(
                f"table {table}: its write guard (RLS {INSERT_POLICY}, trigger {TRIGGER}) is "
                "missing or disabled: SQL could schedule any task in every tenant (run "
                "migrate as the owner)"
            )
        cursor.execute("SELECT has_table_privilege(%s, %s, 'TRUNCATE')", [role, table])
        if cursor.fetchone()[0]:
            found.append(f"table {table}: runtime role {role!r} may TRUNCATE it (ignores RLS)")
    return found
