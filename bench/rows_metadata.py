"""Metadata manager rows (issue 13): creating one record, and bulk import."""

from __future__ import annotations

import json
import time
import uuid
from itertools import count

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bench.broker import tasks_to_unconsumed_broker
from bench.datasets import owner_connection
from bench.harness import Goal, Outcome, compare, register
from tenancy.context import tenant_context
from tenancy.models import Tenant

SLUG = "bench-metadata"
PLAIN_TABLE = "bench_plain_metadata"


def content_of(n: int) -> dict:
    """A typical record: a table's technical metadata, about 400 bytes of JSON."""
    return {
        "table": f"customers_{n}",
        "schema": "sales",
        "version": "2.1.0",
        "row_count": 125_000 + n,
        "columns": [
            {"name": "id", "type": "bigint", "nullable": False},
            {"name": "email", "type": "text", "nullable": False, "pii": True},
            {"name": "country", "type": "char(2)", "nullable": True},
            {"name": "created_at", "type": "timestamptz", "nullable": False},
        ],
        "owner_team": "data-platform",
        "retention_days": 365,
    }


def load_metadata(ctx) -> Tenant:
    tenant, _ = Tenant.objects.get_or_create(slug=SLUG, defaults={"name": "Bench metadata"})
    with owner_connection() as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {PLAIN_TABLE} (id uuid PRIMARY KEY, tenant_id bigint "
            "NOT NULL, metadata_type varchar(16) NOT NULL, name varchar(200) NOT NULL, "
            "content jsonb NOT NULL, tags jsonb NOT NULL, owner varchar(150) NOT NULL, "
            "created_at timestamptz NOT NULL)"
        )
        role = settings.DB_RUNTIME_ROLE or "dim_app"
        conn.execute(f"GRANT SELECT, INSERT, DELETE ON {PLAIN_TABLE} TO {role}")
    return tenant


def _plain(tenant_id: int, n: int, run: str):
    from bench.models import PlainMetadata

    return PlainMetadata(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        metadata_type="technical",
        name=f"{run}-plain-{n}",
        content=content_of(n),
        tags=["sales", "pii"],
        owner="data-platform",
        created_at=timezone.now(),
    )


@register(
    "metadata.create",
    title="Create a metadata record (validate, version, outbox, audit)",
    ours="`do_create_record()` of a 400-byte JSON document in a tenant: type, object, size, "
    "tags and name checks, canonical JSON, INSERT of the record, of its version 1.0 (the "
    "whole document and its change description), of its search-outbox row and of its "
    "`metadata.record.created` audit entry, in one transaction under RLS",
    peer="a bare Django ORM insert of the same JSON (`PlainMetadata.objects.create()`, a "
    "jsonb column, no scoping, no RLS), same database",
    goal=Goal(5.0, "p95 ms (ours)"),
)
def create(ctx):
    from bench.models import PlainMetadata
    from metadata_mgr.actions import do_create_record

    tenant = ctx.once(load_metadata)
    run = uuid.uuid4().hex[:8]
    ours_n, peer_n = count(), count()

    def ours():
        n = next(ours_n)
        do_create_record(
            metadata_type="technical",
            content=content_of(n),
            name=f"{run}-{n}",
            tags=["sales", "pii"],
            owner="data-platform",
            actor="bench",
        )

    def peer():
        PlainMetadata.objects.create(**_fields(_plain(tenant.pk, next(peer_n), run)))

    with tenant_context(tenant), tasks_to_unconsumed_broker():
        ours_s, peer_s = compare(ours, peer, ctx.iters(3000, 300), warmup=ctx.iters(200, 50))
    return Outcome(
        ours_s,
        peer_s,
        value=round(ours_s.p95_us / 1000, 3),
        notes=(
            f"p50 ratio ours/peer {ours_s.p50_us / peer_s.p50_us:.2f}×: ours writes four rows "
            "(record, version, outbox, audit queue) where the peer writes one",
            "the audit entries' sequencing is a worker's job (deferred mode): the commit hook "
            "sends the task to an in-process broker nobody consumes, as in sessions.create",
        ),
    )


def _fields(plain) -> dict:
    return {f.attname: getattr(plain, f.attname) for f in plain._meta.concrete_fields}


@register(
    "metadata.bulk_import",
    title="Bulk import of metadata records from JSON Lines",
    ours="the `metadata.import` job (`import_metadata` command, imports API) over a JSON Lines "
    "file of 400-byte records: each line parsed and validated as `do_create_record` does, "
    "1,000 lines per step (records, versions, outbox rows and audit entries with one INSERT "
    "per table, the step's checkpoint and progress in the same transaction)",
    peer="`bulk_create()` of the same records into a bare Django model (jsonb, no scoping), "
    "1,000 per statement, one transaction per batch",
    goal=Goal(40.0, "µs per record (≤ 40 ⇔ ≥ 25,000 records/s, the seed's figure)"),
)
def bulk_import(ctx):
    from bench.models import PlainMetadata
    from jobs_mgr.engine import run_job
    from metadata_mgr.actions import do_start_import

    tenant = ctx.once(load_metadata)
    n = ctx.iters(50_000, 5_000)
    run = uuid.uuid4().hex[:8]
    lines = "\n".join(
        json.dumps(
            {
                "metadata_type": "technical",
                "content": content_of(i),
                "name": f"{run}-import-{i}",
                "tags": ["sales", "pii"],
                "owner": "data-platform",
            }
        )
        for i in range(n)
    ).encode()
    with tenant_context(tenant), tasks_to_unconsumed_broker():
        started = time.perf_counter()
        _imported, job = do_start_import(lines, filename="bench.jsonl", actor="bench", send=False)
        job = run_job(job.pk)
        ours_s = time.perf_counter() - started
        if job.state != "succeeded" or job.result.get("imported") != n:
            raise RuntimeError(f"import {job.state}: {job.result} {job.last_error}")
        started = time.perf_counter()
        for start in range(0, n, 1000):
            with transaction.atomic():
                PlainMetadata.objects.bulk_create(
                    [_plain(tenant.pk, i, run) for i in range(start, min(n, start + 1000))]
                )
        peer_s = time.perf_counter() - started
    ours_rate, peer_rate = n / ours_s, n / peer_s
    return Outcome(
        value=round(1e6 / ours_rate, 1),
        ours_text=f"{ours_rate:,.0f} records/s over {n:,} records",
        peer_text=f"{peer_rate:,.0f} records/s",
        notes=(
            f"ours/peer throughput {ours_rate / peer_rate:.2f}×; ours {ours_s:.1f} s, peer "
            f"{peer_s:.1f} s for {n:,} records (ours includes storing the file, compressed, "
            "and reading it back in the job)",
        ),
    )
