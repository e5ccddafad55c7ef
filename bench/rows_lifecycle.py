"""Lifecycle rows (issue 16, GDPR): the export of a tenant with 1M rows (MB/s of JSON
Lines through the resumable job, compressed and encrypted, against a raw COPY of the same
rows), and the erasure of that tenant (set-based batched deletes, keys shredded and the
certificate signed, against one raw DELETE of the same rows).

The tenant `bench-gdpr` gets its own documents (COPY as the owner, like datasets.py);
erasure destroys them, so each row loads them again first."""

from __future__ import annotations

import time

from psycopg import sql

from bench.datasets import FULL_ROWS, QUICK_ROWS, owner_connection
from bench.harness import Goal, Outcome, register
from jobs_mgr import engine
from lifecycle_mgr.erasure import erase_tenant
from lifecycle_mgr.exports import request_export
from lifecycle_mgr.gdpr_models import ExportArchive, ExportChunk
from tenancy.context import TenantRef, tenant_context
from tenancy.db.proof import claim_on
from tenancy.models import Tenant

SLUG = "bench-gdpr"
DOCS, FOLDERS = "scoping_app_document", "scoping_app_folder"


def _total(ctx) -> int:
    return ctx.rows or (QUICK_ROWS if ctx.quick else FULL_ROWS)


def _tenant() -> TenantRef:
    from security_mgr.actions import do_create_key_ring
    from security_mgr.models import KeyRing

    tenant, _ = Tenant.objects.get_or_create(slug=SLUG, defaults={"name": "Bench GDPR"})
    with tenant_context(tenant):
        if not KeyRing.objects.filter(subject="", shredded_at__isnull=True).exists():
            # An earlier run's erasure shredded and purged it: a new ring, as at creation.
            KeyRing.objects.filter(subject="").delete()
            do_create_key_ring(tenant.pk, reason="bench")
    return TenantRef.of(tenant)


def _load(tenant_id: int, total: int) -> float:
    """`total` documents of the tenant (its others deleted), in one transaction."""
    start = time.perf_counter()
    with owner_connection() as conn:
        tables = [sql.Identifier(t) for t in (FOLDERS, DOCS)]
        for table in tables:  # COPY FROM refuses a FORCEd table (see datasets.py)
            conn.execute(sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(table))
        conn.execute(f"DELETE FROM {DOCS} WHERE tenant_id = %s", [tenant_id])
        conn.execute(f"DELETE FROM {FOLDERS} WHERE tenant_id = %s", [tenant_id])
        folder = conn.execute(
            f"INSERT INTO {FOLDERS} (tenant_id, name) VALUES (%s, 'gdpr') RETURNING id",
            [tenant_id],
        ).fetchone()[0]
        query = sql.SQL("COPY {} (tenant_id, folder_id, title, size) FROM STDIN").format(
            sql.Identifier(DOCS)
        )
        with conn.cursor() as cursor, cursor.copy(query) as copy:
            for first in range(0, total, 50_000):
                copy.write(
                    "".join(
                        f"{tenant_id}\t{folder}\tgdpr-doc-{n:07d}\t{(n * 7919) % 100_000}\n"
                        for n in range(first, min(total, first + 50_000))
                    ).encode()
                )
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            conn.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(table))
        conn.commit()
    return time.perf_counter() - start


def _raw_copy(tenant_id: int) -> tuple[float, int]:
    """The peer: COPY of the same rows to the client, as text (seconds, bytes)."""
    received = 0
    with owner_connection() as conn:
        claim_on(conn, str(tenant_id))
        start = time.perf_counter()
        query = sql.SQL("COPY (SELECT * FROM {} WHERE tenant_id = {}) TO STDOUT").format(
            sql.Identifier(DOCS), sql.Literal(tenant_id)
        )
        with conn.cursor() as cursor, cursor.copy(query) as copy:
            for data in copy:
                received += len(data)
        return time.perf_counter() - start, received


@register(
    "lifecycle.export_mb_s",
    title="GDPR export of a tenant with 1M rows (MB/s)",
    ours="the `lifecycle.export` job run in-process: JSON Lines per model (every scoped "
    "model of the registry), zstd, AES-256-GCM per piece, a piece per step with its "
    "checkpoint, audit proofs and the manifest",
    peer="`COPY (SELECT * … WHERE tenant_id = …) TO STDOUT` of the same documents (text)",
    goal=Goal(15.0, "time ratio ours/peer for the same rows"),
)
def export_row(ctx):
    total = _total(ctx)
    ref = _tenant()
    _load(ref.id, total)
    with tenant_context(ref):
        ExportChunk.objects.all().delete()
        ExportArchive.objects.all().delete()
        export, _key = request_export(actor="bench", send=False)
        start = time.perf_counter()
        job = engine.run_job(export.job_id)
        ours_s = time.perf_counter() - start
        if job.state != "succeeded":
            raise AssertionError(f"export job {job.state}: {job.last_error}")
        export.refresh_from_db()
        stored = sum(len(b) for b in ExportChunk.objects.values_list("body", flat=True))
        rows = job.progress_done
        ExportChunk.objects.all().delete()
    peer_s, peer_bytes = _raw_copy(ref.id)
    ours_mb, peer_mb = export.size_bytes / 1e6, peer_bytes / 1e6
    ours_rate, peer_rate = ours_mb / ours_s, peer_mb / peer_s
    return Outcome(
        value=ours_s / peer_s,
        ours_text=f"{ours_rate:,.1f} MB/s ({ours_mb:,.0f} MB JSON Lines, {rows:,} rows "
        f"in {ours_s:.1f} s)",
        peer_text=f"{peer_rate:,.1f} MB/s ({peer_mb:,.0f} MB COPY text in {peer_s:.1f} s)",
        notes=(
            f"{rows / ours_s:,.0f} rows/s; MB/s ratio peer/ours {peer_rate / ours_rate:.2f} "
            "(JSON Lines name every field: more bytes per row than COPY text); "
            f"archive stored {stored / 1e6:,.1f} MB "
            "(zstd + AES-GCM) as encrypted pieces; the job's batch is "
            "LIFECYCLE_EXPORT_BATCH (20,000) rows, one piece and checkpoint per step",
        ),
    )


@register(
    "lifecycle.erasure_1m",
    title="Erasure of a tenant with 1M rows (seconds)",
    ours="`erase_tenant`: legal-hold check, keys shredded (signed receipt), search index "
    "dropped, every scoped model purged children first in set-based batches of 50,000, "
    "cache generation bumped, signed certificate in both logs",
    peer="one `DELETE FROM scoping_app_document WHERE tenant_id = …` of the same rows",
    goal=Goal(60.0, "s per 1M rows (ours)"),
)
def erasure_row(ctx):
    total = _total(ctx)
    ref = _tenant()
    load_s = _load(ref.id, total)
    start = time.perf_counter()
    certificate = erase_tenant(ref.id, actor="bench")
    ours_s = time.perf_counter() - start
    destroyed = certificate.receipt["destroyed"]["rows"]
    if destroyed.get("scoping_app.Document") != total:
        raise AssertionError(f"erased {destroyed.get('scoping_app.Document')} of {total}")
    ref = _tenant()
    _load(ref.id, total)
    with tenant_context(ref):
        from django.db import connection

        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {DOCS} WHERE tenant_id = %s", [ref.id])
        peer_s = time.perf_counter() - start
    return Outcome(
        value=ours_s * 1_000_000 / total,
        ours_text=f"{ours_s:.1f} s for {total:,} rows ({total / ours_s:,.0f} rows/s)",
        peer_text=f"{peer_s:.1f} s ({total / peer_s:,.0f} rows/s)",
        notes=(
            f"ours/peer time ratio {ours_s / peer_s:.2f}; rows destroyed: "
            f"{sum(destroyed.values()):,} over {len(destroyed)} models; "
            f"{len(certificate.receipt['keys'])} key versions shredded; loading took "
            f"{load_s:.1f} s (COPY, not timed)",
        ),
    )
