"""Writing samples: the one path every sample takes into the database (the flusher's
batches and the batch API alike).

PostgreSQL: the batch is `COPY`ed (binary) into the session's temporary staging table
(`pg_temp.dim_perf_stage`, handed out by the owner's `dim_perf_stage()` function,
migration 0007), then moved with one `INSERT INTO samples SELECT ... FROM stage` through
the application's connection, so the backend sends the tenant claim and its proof first
and row-level security checks every row (`WITH CHECK`: a row naming another tenant fails
the whole statement). `COPY` straight into the samples is impossible: PostgreSQL refuses
`COPY FROM` into a table under row-level security for every role it applies to, and
FORCE applies it to the owner too. Where the stage is unavailable (no TEMP for the
owner), one `INSERT ... SELECT FROM unnest(...)` of three arrays. SQLite: batched
`bulk_create`. docs/performance.md, "Ingest", has the measurements.

The tenant's ingest lock (a transaction-level advisory lock on PostgreSQL; SQLite's
IMMEDIATE transactions serialise every writer) makes a tenant's writes commit in the
order of their sample ids. That is what lets the roll-up read "every sample up to id N"
without missing one that a slower transaction commits later (perf_mgr/rollup.py), and
it serialises the series count and inserts of the cardinality guard.
"""

from __future__ import annotations

import zlib

from perf_mgr import series as series_mod
from perf_mgr.models import MetricSample
from tenancy import db as tenant_db
from tenancy.context import require_tenant_id

LOCK_CLASS = zlib.crc32(b"dim.perf.ingest") & 0x7FFFFFFF
BULK_BATCH = 2000
INSERT_BATCH = 50_000  # rows per statement: bounded memory on both sides
STAGE_FUNCTION = "dim_perf_stage"  # migration 0007
STAGE = "pg_temp.dim_perf_stage"
# A role created after the migration granted the function falls back, never fails.
STAGE_SQL = (
    f"SELECT CASE WHEN has_function_privilege('public.{STAGE_FUNCTION}()', 'EXECUTE') "
    f"THEN public.{STAGE_FUNCTION}() ELSE false END"
)
COPY_SQL = f"COPY {STAGE} (series_id, at_us, value) FROM STDIN (FORMAT BINARY)"
COPY_TYPES = ["int8", "int8", "float8"]


def lock_tenant_ingest(tenant_id: int) -> None:
    connection = tenant_db.connection_for(tenant_id)  # a dedicated tenant's own database
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, tenant_id])


def copy_rows(tenant_id: int, rows: list) -> int | None:
    """COPY (series_id, at_us, value) rows into the stage and move them into the
    tenant's samples; None when this database offers no stage (then `insert_rows`)."""
    connection = tenant_db.connection_for(tenant_id)
    table = connection.ops.quote_name(MetricSample._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(STAGE_SQL)
        if not cursor.fetchone()[0]:
            return None
        for start in range(0, len(rows), INSERT_BATCH):
            with cursor.copy(COPY_SQL) as copy:
                copy.set_types(COPY_TYPES)
                write_row = copy.write_row
                for row in rows[start : start + INSERT_BATCH]:
                    write_row(row)
            cursor.execute(
                f"INSERT INTO {table} (tenant_id, series_id, at_us, value) "
                f"SELECT %s, series_id, at_us, value FROM {STAGE}",
                [tenant_id],
            )
            # Empty the stage right after the move, not at the commit: the stage has no
            # tenant column and no row-level security, so rows left in it until the
            # commit would be readable by whatever tenant context the same transaction
            # switches to next (tests/isolation/test_attack_perf_ingest.py).
            cursor.execute(STAGE_SQL)
    return len(rows)


def insert_rows(tenant_id: int, rows: list) -> int:
    """INSERT (series_id, at_us, value) rows of the tenant in context, in statements of
    INSERT_BATCH rows. Inside a transaction holding the tenant's ingest lock."""
    connection = tenant_db.connection_for(tenant_id)
    table = connection.ops.quote_name(MetricSample._meta.db_table)
    sql = (
        f"INSERT INTO {table} (tenant_id, series_id, at_us, value) "
        "SELECT %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[])"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            series_ids, times, values = zip(*rows[start : start + INSERT_BATCH], strict=True)
            cursor.execute(sql, [tenant_id, list(series_ids), list(times), list(values)])
    return len(rows)


def bulk_rows(rows) -> int:
    objs = [MetricSample(series_id=s, at_us=t, value=v) for s, t, v in rows]
    for start in range(0, len(objs), BULK_BATCH):
        MetricSample.objects.bulk_create(objs[start : start + BULK_BATCH])
    return len(objs)


def write(samples: list[tuple]) -> tuple[int, list[int]]:
    """Store `(name, labels, category, value, at_us)` samples in the tenant in context.
    Returns (how many were stored, indexes of the samples refused by the series limit).
    One transaction: all stored, or none."""
    tenant_id = require_tenant_id("storing metric samples")
    if not samples:
        return 0, []
    with tenant_db.atomic(tenant_id):
        lock_tenant_ingest(tenant_id)
        wanted: dict = {}
        for name, labels, category, _value, _at in samples:
            wanted.setdefault((name, labels), category)
        ids, _refused = series_mod.resolve(wanted)
        refused_at = []
        rows = []
        for index, (name, labels, _category, value, at_us) in enumerate(samples):
            series_id = ids.get((name, labels))
            if series_id is None:
                refused_at.append(index)
            else:
                rows.append((series_id, at_us, value))
        if not rows:
            stored = 0
        elif tenant_db.connection_for(tenant_id).vendor == "postgresql":
            stored = copy_rows(tenant_id, rows)
            if stored is None:
                stored = insert_rows(tenant_id, rows)
        else:
            stored = bulk_rows(rows)
    return stored, refused_at
