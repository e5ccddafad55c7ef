"""Bench data: tenants, the large document set and the API fixture, plus their plain
(unscoped, RLS-free) twins. Loading is idempotent: a marker table records what was
loaded, and a data set whose marker and row counts match is reused as is.

DDL and bulk loads run as the owner role (DATABASE_OWNER_URL), like migrations: the
runtime role may not create tables, and the plain tables must be owned by the owner
exactly like the scoped ones, so that the only difference left is RLS and scoping.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from psycopg import sql

from bench.proofs import prove
from tenancy.context import tenant_context
from tenancy.models import Membership, Role, Tenant, TenantSetting

TENANT_COUNT = 100
TENANT_PREFIX = "bench-"
FULL_ROWS, QUICK_ROWS = 1_000_000, 100_000
SETTINGS_PER_TENANT, SETTING_TENANTS = 200, 10
API_USER, API_PASSWORD = "bench-api-user", "bench-api-password"

DOC_TABLE, PLAIN_DOC_TABLE = "scoping_app_document", "bench_plain_document"
FOLDER_TABLE = "scoping_app_folder"
SETTING_TABLE, PLAIN_SETTING_TABLE = "tenancy_tenantsetting", "bench_plain_setting"


@contextmanager
def owner_connection() -> Iterator[psycopg.Connection]:
    url = os.environ.get("DATABASE_OWNER_URL")
    if not url:
        raise RuntimeError("DATABASE_OWNER_URL is not set: run the bench via `make bench`")
    with psycopg.connect(url) as conn:
        yield conn


def _create_twin(conn: psycopg.Connection, twin: str, scoped: str) -> None:
    """The plain twin: same columns, defaults, identity and indexes, no RLS."""
    conn.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING ALL)").format(
            sql.Identifier(twin), sql.Identifier(scoped)
        )
    )
    conn.execute(
        sql.SQL("GRANT SELECT ON {} TO {}").format(
            sql.Identifier(twin), sql.Identifier(settings.DB_RUNTIME_ROLE or "dim_app")
        )
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_marker (name text PRIMARY KEY, value bigint NOT NULL)"
    )


def _marker(conn: psycopg.Connection, name: str) -> int | None:
    row = conn.execute("SELECT value FROM bench_marker WHERE name = %s", [name]).fetchone()
    return row[0] if row else None


def _set_marker(conn: psycopg.Connection, name: str, value: int) -> None:
    conn.execute(
        "INSERT INTO bench_marker VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        [name, value],
    )


def _count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    ).fetchone()[0]


# --- Tenants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchTenants:
    ids: list[int]
    slugs: list[str]


def load_tenants(ctx) -> BenchTenants:
    """100 tenants `bench-000`..`bench-099` (Tenant is unscoped: plain ORM)."""
    slugs = [f"{TENANT_PREFIX}{n:03d}" for n in range(TENANT_COUNT)]
    Tenant.objects.bulk_create(
        [Tenant(slug=slug, name=f"Bench {slug}") for slug in slugs], ignore_conflicts=True
    )
    by_slug = dict(Tenant.objects.filter(slug__in=slugs).values_list("slug", "id"))
    # bulk_create() sends no post_save, so tenancy.hooks.tenant_created did not run:
    # give each tenant the key ring it would have been created with (idempotent).
    from security_mgr.actions import do_create_key_ring

    for tenant_id in by_slug.values():
        do_create_key_ring(tenant_id, reason="bench")
    return BenchTenants([by_slug[s] for s in slugs], slugs)


# --- Documents (rows a, b, c) -----------------------------------------------------------


@dataclass(frozen=True)
class DocumentSet:
    total: int
    tenants: BenchTenants
    tenant_id: int  # the tenant the lookups run in
    sample_ids: list[int]  # ids of `tenant_id`'s documents, in random order
    sample_titles: list[str]
    loaded_now: bool
    load_seconds: float


def _title(n: int) -> str:
    return f"doc-{n:07d}"


def _document_chunks(first_id, total, tenant_ids, folder_of, chunk=50_000) -> list[bytes]:
    """COPY text rows (id, tenant_id, folder_id, title, size). Tenants are interleaved
    row by row, as rows of many tenants arrive over time in a pooled table."""
    chunks, lines = [], []
    for n in range(total):
        tenant = tenant_ids[n % len(tenant_ids)]
        size = (n * 7919) % 100_000  # deterministic, spread over 0..99 999
        lines.append(f"{first_id + n}\t{tenant}\t{folder_of[tenant]}\t{_title(n)}\t{size}\n")
        if len(lines) == chunk:
            chunks.append("".join(lines).encode())
            lines = []
    if lines:
        chunks.append("".join(lines).encode())
    return chunks


def _copy(conn, table: str, chunks: list[bytes]) -> None:
    query = sql.SQL("COPY {} (id, tenant_id, folder_id, title, size) FROM STDIN").format(
        sql.Identifier(table)
    )
    with conn.cursor() as cursor, cursor.copy(query) as copy:
        for data in chunks:
            copy.write(data)


def _reload_documents(conn, tenants: BenchTenants, total: int) -> None:
    """One transaction: the data set appears whole, or not at all."""
    scoped = [sql.Identifier(t) for t in (FOLDER_TABLE, DOC_TABLE)]
    # COPY FROM refuses a table under RLS for everyone but superusers, and FORCE fences
    # the owner too. The owner lifts FORCE inside this transaction only (ALTER TABLE
    # holds an exclusive lock until commit, so no other session ever sees the table
    # unforced) and restores it before committing.
    for table in scoped:
        conn.execute(sql.SQL("ALTER TABLE {} NO FORCE ROW LEVEL SECURITY").format(table))
    conn.execute(f"DELETE FROM {DOC_TABLE} WHERE tenant_id = ANY(%s)", [tenants.ids])
    conn.execute(f"TRUNCATE {PLAIN_DOC_TABLE}")
    conn.execute(
        f"INSERT INTO {FOLDER_TABLE} (tenant_id, name) SELECT unnest(%s::bigint[]), 'bench' "
        "ON CONFLICT DO NOTHING",
        [tenants.ids],
    )
    folder_of = dict(
        conn.execute(
            f"SELECT tenant_id, id FROM {FOLDER_TABLE} WHERE name = 'bench' "
            "AND tenant_id = ANY(%s)",
            [tenants.ids],
        ).fetchall()
    )
    first_id = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {DOC_TABLE}").fetchone()[0]
    # The same bytes into both tables: same ids, titles, sizes and physical order.
    chunks = _document_chunks(first_id, total, tenants.ids, folder_of)
    for table in (DOC_TABLE, PLAIN_DOC_TABLE):
        _copy(conn, table, chunks)
        conn.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, first_id + total]
        )
    # The foreign keys are DEFERRABLE INITIALLY DEFERRED, and ALTER TABLE refuses a
    # table with pending trigger events: check them now, before FORCE comes back.
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table in scoped:
        conn.execute(sql.SQL("ALTER TABLE {} FORCE ROW LEVEL SECURITY").format(table))
    _set_marker(conn, "documents", total)
    conn.commit()


def load_documents(ctx) -> DocumentSet:
    tenants = ctx.once(load_tenants)
    total = ctx.rows or (QUICK_ROWS if ctx.quick else FULL_ROWS)
    start = time.perf_counter()
    with owner_connection() as conn:
        _create_twin(conn, PLAIN_DOC_TABLE, DOC_TABLE)
        conn.commit()
        loaded_now = not (
            _marker(conn, "documents") == total and _count(conn, PLAIN_DOC_TABLE) == total
        )
        if loaded_now:
            _reload_documents(conn, tenants, total)
            conn.autocommit = True  # VACUUM refuses to run inside a transaction
            for table in (DOC_TABLE, PLAIN_DOC_TABLE):
                # Fresh statistics and visibility map for both, so the planner sees the
                # same picture on both sides.
                conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
        tenant_id = tenants.ids[0]
        rows = conn.execute(
            f"SELECT id, title FROM {PLAIN_DOC_TABLE} WHERE tenant_id = %s", [tenant_id]
        ).fetchall()
    rng = random.Random(42)
    rng.shuffle(rows)
    rows = rows[:2000]
    return DocumentSet(
        total=total,
        tenants=tenants,
        tenant_id=tenant_id,
        sample_ids=[r[0] for r in rows],
        sample_titles=[r[1] for r in rows],
        loaded_now=loaded_now,
        load_seconds=time.perf_counter() - start,
    )


# --- API fixture (rows d, e) ------------------------------------------------------------


@dataclass(frozen=True)
class ApiSet:
    tenant: Tenant
    other_tenant: Tenant
    rows: int  # settings of `tenant` (and rows of the plain table)
    username: str
    password: str


def _ensure_settings(tenant_ids: list[int]) -> None:
    for tenant_id in tenant_ids:
        with tenant_context(Tenant.objects.get(pk=tenant_id)):
            if TenantSetting.objects.count() == SETTINGS_PER_TENANT:
                continue
            TenantSetting.objects.all().delete()
            TenantSetting.objects.bulk_create(
                TenantSetting(
                    key=f"bench.key_{n:04d}",
                    value={"n": n, "enabled": n % 2 == 0, "tags": ["a", "b"]},
                    description=f"Bench setting number {n}",
                )
                for n in range(SETTINGS_PER_TENANT)
            )


def _copy_settings_to_twin(tenant_id: int) -> None:
    with owner_connection() as conn:
        _create_twin(conn, PLAIN_SETTING_TABLE, SETTING_TABLE)
        conn.execute(f"TRUNCATE {PLAIN_SETTING_TABLE}")
        # The owner is fenced by FORCE too: it sees (and copies) this tenant's rows only.
        prove(conn, str(tenant_id), local=True)
        conn.execute(f"INSERT INTO {PLAIN_SETTING_TABLE} SELECT * FROM {SETTING_TABLE}")
        conn.commit()
        conn.autocommit = True
        for table in (SETTING_TABLE, PLAIN_SETTING_TABLE):
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))


def load_api(ctx) -> ApiSet:
    tenants = ctx.once(load_tenants)
    # The API tenant shares its table with 9 others, so RLS and scoping filter for real.
    _ensure_settings(tenants.ids[:SETTING_TENANTS])
    tenant = Tenant.objects.get(pk=tenants.ids[0])
    _copy_settings_to_twin(tenant.pk)
    user, _ = get_user_model().objects.get_or_create(username=API_USER)
    user.set_password(API_PASSWORD)
    user.save()
    with tenant_context(tenant):  # memberships are written in their tenant's context
        Membership.objects.update_or_create(
            user=user, tenant=tenant, defaults={"role": Role.VIEWER}
        )
    return ApiSet(
        tenant=tenant,
        other_tenant=Tenant.objects.get(pk=tenants.ids[1]),
        rows=SETTINGS_PER_TENANT,
        username=API_USER,
        password=API_PASSWORD,
    )
