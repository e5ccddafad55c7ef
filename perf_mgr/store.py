"""Writing samples: the one path every sample takes into the database (the flusher's
batches and the batch API alike).

PostgreSQL: one `INSERT ... SELECT FROM unnest(...)` per batch, the three columns
bound as binary arrays, through the application's connection, so the backend sends the
tenant claim and its proof first and row-level security checks every row (`WITH
CHECK`: a row naming another tenant fails the whole statement). Not `COPY`: PostgreSQL
refuses `COPY FROM` into a table under row-level security ("COPY FROM not supported with
row-level security") for every role it applies to, and FORCE applies it to the owner
too (docs/performance.md, "Ingest", has the measurements). SQLite: batched `bulk_create`.

The tenant's ingest lock (a transaction-level advisory lock on PostgreSQL; SQLite's
IMMEDIATE transactions serialise every writer) makes a tenant's writes commit in the
order of their sample ids. That is what lets the roll-up read "every sample up to id N"
without missing one that a slower transaction commits later (perf_mgr/rollup.py), and
it serialises the series count and inserts of the cardinality guard.
"""

from __future__ import annotations

import zlib

from django.db import connection, transaction

from perf_mgr import series as series_mod
from perf_mgr.models import MetricSample
from tenancy.context import require_tenant_id

LOCK_CLASS = zlib.crc32(b"dim.perf.ingest") & 0x7FFFFFFF
BULK_BATCH = 2000
INSERT_BATCH = 50_000  # rows per statement: bounded memory on both sides


def lock_tenant_ingest(tenant_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, tenant_id])


def insert_rows(tenant_id: int, rows: list) -> int:
    """INSERT (series_id, at_us, value) rows of the tenant in context, in statements of
    INSERT_BATCH rows. Inside a transaction holding the tenant's ingest lock."""
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
    with transaction.atomic():
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
        elif connection.vendor == "postgresql":
            stored = insert_rows(tenant_id, rows)
        else:
            stored = bulk_rows(rows)
    return stored, refused_at
