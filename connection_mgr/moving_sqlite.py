"""The moving parts of a tenant move on the embedded default (SQLite): a dedicated
tenant's database is another SQLite file (issue 17). moving.py dispatches here when
the database is SQLite; the PostgreSQL path (COPY, md5 in SQL, LOCK TABLE) stays there.

- `copy_table` reads the tenant's rows in batches (`fetchmany`, ordered by primary key)
  and inserts them with `executemany`, as stored (raw column values: sealed fields stay
  sealed, JSON stays text), after deleting what the target had of them: a copy run
  again never duplicates a row.
- `checksum` is computed in Python over the canonical text (`repr`) of each row's
  column values, ordered by primary key, both sides read through the same engine: equal
  digests mean the same rows, value for value.
- `writes_held` is SQLite's own write lock: `transaction.atomic` on the source opens
  `BEGIN IMMEDIATE` (settings: `transaction_mode`), so every other writer of that file,
  in any process, waits (busy timeout) until the block ends; readers go on (WAL). A
  block already inside a transaction of the source (a workflow step's, which holds the
  default database's lock for the whole step) keeps that lock.
- Ids: Django's SQLite AutoFields are AUTOINCREMENT, so `sqlite_sequence` is moved
  past as PostgreSQL's sequences are (a dedicated file starts ID_GAP past the shared
  one), and ids stay unique when the tenant comes back.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager

from django.db import connections, transaction

from tenancy.rls_names import ident

BATCH = 2000  # rows read and inserted at a time
AUTO_FIELDS = ("AutoField", "BigAutoField", "SmallAutoField")


def _columns(model) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _select(model) -> str:
    names = ", ".join(ident(c) for c in _columns(model))
    return (
        f"SELECT {names} FROM {ident(model._meta.db_table)} WHERE tenant_id = %s "
        f"ORDER BY {ident(model._meta.pk.column)}"
    )


def _canonical(row) -> bytes:
    # repr of SQLite's Python values (None, int, float, str, bytes) is unambiguous:
    # strings are quoted and escaped, so no two rows print the same.
    return repr(tuple(row)).encode("utf-8", "surrogatepass")


def checksum(model, alias: str, tenant_id: int) -> dict:
    digest, rows = hashlib.md5(usedforsecurity=False), 0
    with connections[alias].cursor() as cursor:
        cursor.execute(_select(model), [tenant_id])
        while batch := cursor.fetchmany(BATCH):
            for row in batch:
                digest.update(_canonical(row))
                digest.update(b"\n")
            rows += len(batch)
    return {"rows": rows, "md5": digest.hexdigest() if rows else ""}


def copy_table(model, source: str, target: str, tenant_id: int, delete_rows, id_gap: int) -> int:
    """The tenant's rows of one table, source → target, replacing what the target had
    (`delete_rows(model, alias, tenant_id)`), in one transaction of the target; the
    target's counter at least `id_gap` past the source's when the target is dedicated."""
    table = ident(model._meta.db_table)
    columns = _columns(model)
    insert = (
        f"INSERT INTO {table} ({', '.join(ident(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    copied = 0
    with transaction.atomic(using=target):
        delete_rows(model, target, tenant_id)
        with connections[source].cursor() as reading, connections[target].cursor() as writing:
            reading.execute(_select(model), [tenant_id])
            while batch := reading.fetchmany(BATCH):
                writing.executemany(insert, batch)
                copied += len(batch)
        if model._meta.pk.get_internal_type() in AUTO_FIELDS:
            move_sequence(model, source, target, id_gap if target != "default" else 0)
    return copied


def _sequence(alias: str, table: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def move_sequence(model, source: str, target: str, gap: int) -> None:
    """The target's AUTOINCREMENT counter never goes back, and a dedicated file's starts
    `gap` (moving.ID_GAP) past the source's, so later ids never meet the shared ones."""
    table, column = model._meta.db_table, model._meta.pk.column
    source_last = _sequence(source, table)
    with connections[target].cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max({ident(column)}), 0) FROM {ident(table)}")
        highest = int(cursor.fetchone()[0])
        wanted = max(_sequence(target, table), highest, source_last + gap)
        cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [wanted, table])
        if cursor.rowcount == 0:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, wanted]
            )


@contextmanager
def writes_held(alias: str):
    """Every other writer of `alias`'s file waits until the block ends (BEGIN
    IMMEDIATE); yields (the Django connection, started) like moving.writes_held."""
    connection = connections[alias]
    started = time.perf_counter()
    with transaction.atomic(using=alias):
        yield connection, started
