"""The moving parts of a tenant move (issue 17, "Moves"): per-table COPY of one
tenant's rows between databases, checksums, purges, and the write hold at the switch.
This is the PostgreSQL path; on the embedded default (SQLite files) each part hands
over to connection_mgr/moving_sqlite.py (batched reads and inserts, checksums in
Python, SQLite's write lock). The workflow that strings them together lives above this layer
(move_mgr/): this infrastructure app never imports the workflow engine.

- `copy_table` is idempotent: it deletes the tenant's rows of that table in the target
  first, so a move killed mid-copy and copied again never duplicates a row.
- COPY TO runs as the runtime role in the tenant's context (RLS applies: only the
  tenant's rows can come out). PostgreSQL refuses COPY FROM into a table with row-level
  security, so rows arrive in batched INSERT ... SELECT from an array of row texts,
  which the forced policies check as any write of the tenant (copy_table).
- `checksum` is the row count and md5 of every row's text, ordered by primary key, over
  the columns Django knows: equal on both sides means the same rows, byte for byte.
- Models with `stays_on_default = True` (the workflow engine's runs: they drive the
  move itself) are never moved nor routed.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from django.db import connections, transaction
from django.utils import timezone

from connection_mgr import moving_sqlite
from connection_mgr.copying import _ordered, constrained_platform_links
from tenancy.models.scoped import scoped_models
from tenancy.rls_names import ident


class MoveError(Exception):
    pass


class ChecksumMismatch(MoveError):
    pass


def movable_models() -> list:
    """Tenant-scoped tables that move with the tenant, parents first."""
    return [
        m
        for m in _ordered(scoped_models())
        if not m._meta.proxy and not getattr(m, "stays_on_default", False)
    ]


def refuse_platform_links(source: str, tenant_id: int) -> None:
    """Rows linking to platform rows (users, content types) move with their raw ids when
    the link is unconstrained; a link the database enforces could not be satisfied in
    another database, so a tenant holding such rows is refused before anything moves."""
    for model in movable_models():
        links = constrained_platform_links(model)
        if links and _count(model, source, tenant_id):
            raise MoveError(
                f"{model._meta.label} rows point at platform rows with a database "
                f"constraint ({', '.join(links)}); they cannot leave the default database."
            )


def _columns(model) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _count(model, alias: str, tenant_id: int) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {ident(model._meta.db_table)} WHERE tenant_id = %s",
            [tenant_id],
        )
        return cursor.fetchone()[0]


def _sqlite(alias: str) -> bool:
    return connections[alias].vendor == "sqlite"


def checksum(model, alias: str, tenant_id: int) -> dict:
    if _sqlite(alias):
        return moving_sqlite.checksum(model, alias, tenant_id)
    names = ", ".join(ident(c) for c in _columns(model))
    pk = ident(model._meta.pk.column)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(md5(string_agg(ROW({names})::text, E'\\n' "
            f"ORDER BY {pk})), '') FROM {ident(model._meta.db_table)} WHERE tenant_id = %s",
            [tenant_id],
        )
        rows, digest = cursor.fetchone()
    return {"rows": rows, "md5": digest}


def checksums(alias: str, tenant_id: int) -> dict[str, dict]:
    return {m._meta.db_table: checksum(m, alias, tenant_id) for m in movable_models()}


def _deleter(model, alias: str, owner: str | None) -> str:
    """Append-only tables (the audit log) refuse DELETE to the runtime role: their rows
    are deleted as the tables' owner (still under the forced policy: the tenant's rows
    only)."""
    from tenancy import rls

    if _sqlite(alias):
        return alias  # no roles on SQLite: nothing refuses the runtime's DELETE
    if rls.is_append_only(model) and not rls.is_consumable(model):
        if owner is None:
            raise MoveError(f"{model._meta.db_table} is append-only: the owner's URL is needed")
        return owner
    return alias


def delete_rows(model, alias: str, tenant_id: int, owner: str | None = None) -> int:
    alias = _deleter(model, alias, owner)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {ident(model._meta.db_table)} WHERE tenant_id = %s", [tenant_id]
        )
        return cursor.rowcount


def delete_tenant_rows(alias: str, tenant_id: int, owner: str | None = None) -> int:
    """Every moved table, children first; in one transaction of `alias`."""
    with transaction.atomic(using=alias):
        return sum(delete_rows(m, alias, tenant_id, owner) for m in reversed(movable_models()))


BATCH = 5000  # rows per INSERT into the target


def copy_table(
    model, source: str, target: str, tenant_id: int, owner: str | None = None,
    source_owner: str | None = None,
) -> int:  # fmt: skip
    """The tenant's rows of one table, source → target, replacing what the target had.

    Rows leave the source with COPY, each as the text of the whole table row, and enter
    the target in batches of one INSERT ... SELECT (text::table).* FROM unnest(...): the
    row type's own input, so every column type round-trips as PostgreSQL prints it,
    and the target's forced policies check each row (COPY FROM is refused on tables
    with row-level security, and the runtime role may not create temporary tables)."""
    if _sqlite(target):
        return moving_sqlite.copy_table(
            model, source, target, tenant_id, lambda m, a, t: delete_rows(m, a, t, owner), ID_GAP
        )
    table = ident(model._meta.db_table)
    names = ", ".join(ident(c) for c in _columns(model))
    insert = (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM "
        f"(SELECT (r::{table}).* FROM unnest(%s::text[]) AS u(r)) AS rows"
    )
    copied = 0
    with transaction.atomic(using=target), connections[target].cursor() as out_cursor:
        delete_rows(model, target, tenant_id, owner)
        with connections[source].cursor() as in_cursor:
            query = (
                f"COPY (SELECT t::text FROM {table} AS t WHERE tenant_id = {int(tenant_id)}) "
                "TO STDOUT"
            )
            with in_cursor.copy(query) as rows_out:
                rows_out.set_types(["text"])
                batch: list[str] = []
                for (row,) in rows_out.rows():
                    batch.append(row)
                    if len(batch) >= BATCH:
                        out_cursor.execute(insert, [batch])
                        copied, batch = copied + len(batch), []
                if batch:
                    out_cursor.execute(insert, [batch])
                    copied += len(batch)
        pk = model._meta.pk
        if pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"):
            _move_sequence(model, source_owner or source, owner or target, target != "default")
    return copied


ID_GAP = 1_000_000_000


def _move_sequence(model, source: str, target: str, dedicated: bool) -> None:
    """Ids must stay unique across databases, so that a tenant can move back: the
    target's sequence never goes back (RLS hides other tenants' rows from max()), and a
    dedicated database's sequence starts ID_GAP (at most half the room left) past the
    shared one's, so ids it hands out later do not meet the shared tables' ids. As the
    owners when known (the runtime role may lack rights on append-only tables' sequences)."""
    table, column = model._meta.db_table, model._meta.pk.column
    sequence = "pg_get_serial_sequence(%s, %s)::regclass"
    with connections[source].cursor() as cursor:
        cursor.execute(f"SELECT coalesce(pg_sequence_last_value({sequence}), 0)", [table, column])
        source_last = cursor.fetchone()[0]
    gap = ID_GAP if dedicated else 0
    with connections[target].cursor() as cursor:
        cursor.execute(
            f"SELECT setval(s.seqrelid, greatest("
            f"coalesce(pg_sequence_last_value(s.seqrelid), 0), "
            f"coalesce((SELECT max({ident(column)}) FROM {ident(table)}), 0), "
            f"%s + least(%s, (s.seqmax - %s) / 2), 1)) "
            f"FROM pg_sequence s WHERE s.seqrelid = {sequence}",
            [source_last, gap, source_last, table, column],
        )


def _raw(alias: str):
    """A psycopg connection of its own to `alias`'s database (outside Django's)."""
    import psycopg

    s = connections[alias].settings_dict
    params = {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"]}
    params.update({k: v for k, v in (("host", s["HOST"]), ("port", s["PORT"])) if v})
    return psycopg.connect(**{k: v for k, v in params.items() if v not in (None, "")})


@contextmanager
def writes_held(alias: str, *, lock_timeout_ms: int = 10_000):
    """Hold writes to every moved table of `alias` (EXCLUSIVE: reads go on) on a
    connection of its own, until the block ends; yields that connection (open
    transaction) so the routing switch can commit on it, atomically with the release,
    when it lives in the same database. Yields (connection, started) for the pause.
    SQLite: the file's own write lock (moving_sqlite.writes_held)."""
    if _sqlite(alias):
        with moving_sqlite.writes_held(alias) as held:
            yield held
        return
    conn = _raw(alias)
    try:
        conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        started = time.perf_counter()
        for model in movable_models():
            conn.execute(f"LOCK TABLE {ident(model._meta.db_table)} IN EXCLUSIVE MODE")
        yield conn, started
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


@contextmanager
def routing_connection():
    """A connection to the default database for the routing row, outside the source's
    hold: PostgreSQL a raw one of its own (committed when the block ends); SQLite
    Django's (a workflow step's transaction, which holds the default's write lock)."""
    if _sqlite("default"):
        yield connections["default"]
        return
    with _raw("default") as conn:
        yield conn


def set_routing(conn, tenant_id: int, mode: str, alias: str, url: str, owner_url: str) -> None:
    """Write the tenant's TenantDatabase row on `conn` (raw, the default database, in
    its open transaction; on SQLite, Django's connection to it). On PostgreSQL under the
    platform claim, which the table's write guard asks for (tenancy/rls_platform.py), set
    for that transaction only and recorded."""
    from connection_mgr.models import TenantDatabase
    from connection_mgr.sealing import seal
    from tenancy.context import platform_access
    from tenancy.db.proof import PLATFORM_CLAIM, claim_on

    table = ident(TenantDatabase._meta.db_table)
    sql = (
        f"INSERT INTO {table} (tenant_id, mode, alias, url, owner_url, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (tenant_id) DO UPDATE SET "
        "mode = EXCLUDED.mode, alias = EXCLUDED.alias, url = EXCLUDED.url, "
        "owner_url = EXCLUDED.owner_url, updated_at = now()"
    )
    params = [tenant_id, mode, alias, seal(url, "url"), seal(owner_url, "owner_url")]
    if getattr(conn, "vendor", None) == "sqlite":
        # SQLite has no row security to claim against; the write is still recorded.
        with platform_access(f"tenant move: route tenant {tenant_id} ({mode})"):
            now = conn.ops.adapt_datetimefield_value(timezone.now())
            with conn.cursor() as cursor:
                cursor.execute(sql.replace("now()", "%s"), [*params[:5], now, now])
        return
    with platform_access(f"tenant move: route tenant {tenant_id} ({mode})"):
        claim_on(conn, PLATFORM_CLAIM, local=True)
    conn.execute(sql, params)
