"""The fast, still row-level-secured, ingest path on PostgreSQL (docs/performance.md,
"Ingest"):

1. The samples' primary key becomes `(tenant_id, id)`, on the `(tenant_id, id)` unique
   index every scoped table has anyway (tenancy/rls.py). The B-tree on `id` alone was
   a second index maintained on every insert for no reader: under row-level security
   every query names the tenant, so `(tenant_id, id)` serves them all (the roll-up's and
   the query's "ids above the cursor", a lookup by id). One B-tree less per sample.
2. `dim_perf_stage()`: an owner-owned SECURITY DEFINER function that gives the calling
   session an empty temporary staging table `pg_temp.dim_perf_stage` (series, time,
   value; no tenant column), creating it on first use with INSERT and SELECT for the
   session's role. The runtime role may not create temporary objects itself
   (tenancy/rls.py: they could shadow real tables); this function makes exactly one, of
   a name no real table has, emptied at every commit. The flusher COPYs a batch into it
   (COPY is refused on tables under row-level security, not on a temporary table) and
   moves it with one `INSERT ... SELECT`, which row-level security checks row by row.
   Without TEMP for the migrating role the function answers false and the flusher uses
   the array INSERT instead.

Nothing changes on SQLite.
"""

from django.db import migrations

from tenancy.rls_names import short

TABLE = "perf_mgr_metricsample"
OLD_PK = "perf_mgr_metricsample_pkey"
FUNCTION = "dim_perf_stage"
STAGE = "dim_perf_stage"

FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION public.{FUNCTION}() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $dim$
BEGIN
    IF to_regclass('pg_temp.{STAGE}') IS NOT NULL THEN
        -- Empty already after a commit; not inside one transaction's second batch.
        TRUNCATE pg_temp.{STAGE};
        RETURN true;
    END IF;
    IF NOT has_database_privilege(current_user, current_database(), 'TEMP') THEN
        RETURN false;
    END IF;
    CREATE TEMP TABLE {STAGE} (
        series_id bigint NOT NULL, at_us bigint NOT NULL, value float8 NOT NULL
    ) ON COMMIT DELETE ROWS;
    EXECUTE format('GRANT SELECT, INSERT ON pg_temp.{STAGE} TO %I', session_user);
    RETURN true;
END
$dim$
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from django.conf import settings

    index = short("dim_tid", TABLE)
    run = schema_editor.execute
    run(f'CREATE UNIQUE INDEX IF NOT EXISTS "{index}" ON {TABLE} (tenant_id, id)')
    run(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {OLD_PK}")
    run(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{index}" PRIMARY KEY USING INDEX "{index}"')
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)  # no parameters: its `%I` is format()'s, not ours
    run(f"REVOKE ALL ON FUNCTION public.{FUNCTION}() FROM PUBLIC")
    role = getattr(settings, "DB_RUNTIME_ROLE", "") or ""
    if role:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            exists = cursor.fetchone() is not None
        if exists:
            quoted = '"' + role.replace('"', '""') + '"'
            run(f"GRANT EXECUTE ON FUNCTION public.{FUNCTION}() TO {quoted}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    index = short("dim_tid", TABLE)
    run = schema_editor.execute
    run(f"DROP FUNCTION IF EXISTS public.{FUNCTION}()")
    run(f'ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS "{index}"')
    run(f"ALTER TABLE {TABLE} ADD CONSTRAINT {OLD_PK} PRIMARY KEY (id)")
    run(f'CREATE UNIQUE INDEX IF NOT EXISTS "{index}" ON {TABLE} (tenant_id, id)')


class Migration(migrations.Migration):
    dependencies = [("perf_mgr", "0006_seal_channel_secrets")]
    operations = [migrations.RunPython(forward, backward)]
