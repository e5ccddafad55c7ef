"""The sequencer's statements, in plain SQL.

The sequencer runs after every audited commit, so its cost is paid per audited action:
through the ORM its seven statements cost several milliseconds of Python per batch
(query compilation, model instances, the scoped manager's checks), more than the
database work. Here each is one short parameterised statement, valid on PostgreSQL and
SQLite. Each names the log's tenant explicitly, after `check_scope` made sure that it is
the tenant in context (the ORM's rule for writes), and on PostgreSQL row-level security
fences every statement again: the backend sends the context's tenant first.
"""

from __future__ import annotations

import functools
import json
import zlib

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, router, transaction
from django.utils import timezone

from audit_mgr.exceptions import AuditStoreInconsistent
from audit_mgr.logs import Log
from audit_mgr.merkle import EMPTY_ROOT, frontier_root
from audit_mgr.queued import COLUMN_NAMES
from audit_mgr.seal import head_seal, seal_matches
from tenancy.db.batch import run_statements
from tenancy.models.scoped import _write_tenant_id

# pg_advisory_xact_lock(class, key): one lock per log, released at commit or rollback.
LOCK_CLASS = zlib.crc32(b"dim.audit.sequencer") & 0x7FFFFFFF
PENDING_COLUMNS = COLUMN_NAMES  # the queue's columns, spelled once (queued.py)


def connection_for(audit_log: Log):
    if not settings.DATABASE_ROUTERS:
        return connections[DEFAULT_DB_ALIAS]  # what the router would say, without asking
    return connections[router.db_for_write(audit_log.entry_model)]


def check_scope(audit_log: Log) -> None:
    """A tenant's log is written in that tenant's context (or under platform access),
    exactly as the scoped ORM would insist."""
    if audit_log.tenant_id is not None:
        _write_tenant_id(audit_log.tenant_id)


def _table(audit_log: Log, model) -> str:
    return connection_for(audit_log).ops.quote_name(model._meta.db_table)


def _scope(audit_log: Log, prefix: str = "WHERE") -> tuple[str, list]:
    if audit_log.tenant_id is None:
        return "", []
    return f"{prefix} tenant_id = %s ", [audit_log.tenant_id]


def _lock_sql(audit_log: Log) -> tuple[str, list] | None:
    """Serialise the log's sequencers until the transaction ends. On PostgreSQL an
    advisory lock, not a row lock: SELECT ... FOR UPDATE writes the row, so even a
    sequencer that then finds nothing to do would get a transaction id and pay a WAL
    flush at commit. SQLite has no locks to take: its transactions are IMMEDIATE
    (settings), so writers are serialised from BEGIN on."""
    if connection_for(audit_log).vendor != "postgresql":
        return None
    key = (audit_log.tenant_id or 0) & 0x7FFFFFFF  # a shared key only serialises more
    return "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, key]


def lock(audit_log: Log) -> None:
    statement = _lock_sql(audit_log)
    if statement is not None:
        with connection_for(audit_log).cursor() as cursor:
            cursor.execute(*statement)
    elif connection_for(audit_log).vendor != "sqlite":
        audit_log.head_model.objects.select_for_update().first()


def _run(audit_log: Log, statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run statements in order and return each one's rows, in one round trip on
    PostgreSQL (pipelined; each takes its own snapshot, so a read after the lock sees
    what committed before it)."""
    results = run_statements(connection_for(audit_log), statements)
    return [rows for rows, _count in results]


def any_pending(audit_log: Log, ids) -> bool:
    table = _table(audit_log, audit_log.pending_model)
    scope, params = _scope(audit_log, "AND")
    marks = ", ".join(["%s"] * len(ids))
    with connection_for(audit_log).cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE id IN ({marks}) {scope}LIMIT 1", [*ids, *params]
        )
        return cursor.fetchone() is not None


def _take_sql(audit_log: Log, limit: int) -> tuple[str, list]:
    table = _table(audit_log, audit_log.pending_model)
    scope, params = _scope(audit_log)
    return (
        f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} {scope}ORDER BY id LIMIT %s) "
        f"RETURNING id, {', '.join(PENDING_COLUMNS)}",
        [*params, limit],
    )


def _head_sql(audit_log: Log) -> tuple[str, list]:
    scope, params = _scope(audit_log)
    table = _table(audit_log, audit_log.head_model)
    return f"SELECT size, frontier, seal FROM {table} {scope}", params


def _as_head(audit_log: Log, rows) -> tuple[int, list[bytes]]:
    """(size, frontier) of a head row, refusing one the sequencer did not write: a head
    moved by hand would otherwise be extended, sealed and signed (see `seal`)."""
    if not rows:
        with transaction.atomic(using=connection_for(audit_log).alias):
            try:
                audit_log.head_model.objects.create(
                    root_hash=EMPTY_ROOT, seal=head_seal(audit_log.label, 0, EMPTY_ROOT)
                )
            except IntegrityError:  # created in the meantime (a lock from before a crash)
                pass
        return read_head(audit_log)
    size, frontier, seal = rows[0]
    frontier = json.loads(frontier) if isinstance(frontier, str) else frontier
    frontier = [bytes.fromhex(h) for h in frontier]
    if not seal_matches(audit_log.label, size, frontier_root(frontier), seal):
        raise AuditStoreInconsistent(
            f"the head row of {audit_log.label} (size {size}) does not carry the sequencer's "
            "seal: it was written outside the application. Nothing is sequenced or signed "
            "until it is repaired; run verify_audit to see what changed"
        )
    return size, frontier


def read_head(audit_log: Log) -> tuple[int, list[bytes]]:
    """(size, frontier) of the log, creating its head row on first use."""
    return _as_head(audit_log, _run(audit_log, [_head_sql(audit_log)])[0])


def take_batch(audit_log: Log, limit: int, *, locked: bool) -> tuple[list, int, list]:
    """Take the log's lock (unless the caller holds it), then delete and return the
    `limit` oldest pending rows (id, event, actor, at_us, payload) in id order, and the
    head (size, frontier): one round trip on PostgreSQL. If the transaction rolls back,
    the rows stay pending."""
    statements = [_take_sql(audit_log, limit), _head_sql(audit_log)]
    postgres = connection_for(audit_log).vendor == "postgresql"
    if postgres:
        # Between two vacuums the queue's index is mostly dead entries (every row is
        # deleted soon after its insert). Only a plain index scan marks them dead for
        # the next scan; the bitmap scan the planner picks on a small table visits all
        # of them every time, and sequencing slows down with every row it consumed.
        statements[0:1] = [
            ("SET LOCAL enable_bitmapscan = off", []),
            statements[0],
            ("SET LOCAL enable_bitmapscan TO DEFAULT", []),
        ]
    lock_statement = None if locked else _lock_sql(audit_log)
    if lock_statement is not None:
        statements.insert(0, lock_statement)
    elif not locked:
        lock(audit_log)
    results = _run(audit_log, statements)
    pending, head = results[-3 if postgres else -2], results[-1]
    if not pending:
        return [], 0, []
    return sorted(pending), *_as_head(audit_log, head)


UNNEST_FROM = 8  # rows; below, adapting the arrays costs more than the placeholders


def _json_default(value):
    """What the C encoder cannot write itself: binary columns as hex, times in ISO."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} in a JSON recordset")


def _json_column(connection, position: int, field) -> str:
    value = f"x.r->>{position}"
    if field.get_internal_type() == "BinaryField":
        return f"decode({value}, 'hex')"
    if field.get_internal_type() == "CharField":
        # An explicit cast to varchar(n) truncates; without the length, the column's
        # own type refuses a value that is too long, as a plain INSERT would.
        return f"({value})::varchar"
    return f"({value})::{field.cast_db_type(connection)}"


def _recordset_insert(connection, table, names, model, columns, rows, returning):
    """One INSERT ... SELECT FROM json_array_elements(one JSON parameter): each row a
    JSON array, each column taken by position and cast to its type. psycopg adapts a
    Python list for client-side binding in Python, element by element, with a regular
    expression per text element (three quarters of a batch's time when the rows were
    passed as arrays); one JSON string is written by the C encoder, which calls back
    into Python only for binary columns (sent as hex) and times."""
    fields = [model._meta.get_field(c) for c in columns]
    exprs = ", ".join(_json_column(connection, i, f) for i, f in enumerate(fields))
    records = json.dumps(rows, separators=(",", ":"), default=_json_default)
    return (
        f"INSERT INTO {table} ({names}) SELECT {exprs} "
        f"FROM json_array_elements(%s::json) AS x(r){returning}",
        [records],
    )


def _insert_sql(audit_log: Log, model, columns: list[str], rows: list[tuple], returning=""):
    """INSERT statements for many rows. PostgreSQL, more than a few rows: one `INSERT
    ... SELECT FROM json_array_elements(...)`, one parameter whatever the row count
    (client-side binding parses every placeholder of a multi-row VALUES in Python).
    Otherwise multi-row VALUES, chunked under SQLite's 32,766-parameter limit."""
    if not rows:
        return
    connection = connection_for(audit_log)
    if audit_log.tenant_id is not None:
        columns = ["tenant_id", *columns]
        rows = [(audit_log.tenant_id, *row) for row in rows]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    table = _table(audit_log, model)
    returning = f" RETURNING {returning}" if returning else ""
    if connection.vendor == "postgresql" and len(rows) > UNNEST_FROM:
        yield _recordset_insert(connection, table, names, model, columns, rows, returning)
        return
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, 30_000 // len(columns))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        yield (
            f"INSERT INTO {table} ({names}) VALUES {', '.join([one] * len(chunk))}{returning}",
            [value for row in chunk for value in row],
        )


def insert_pending(audit_log: Log, rows: list[tuple]) -> list[int]:
    """Queue rows (event, actor, at_us, payload); returns their ids, in order."""
    check_scope(audit_log)
    if len(rows) == 1:  # the usual append: a statement built once per log and database
        connection = connection_for(audit_log)
        statement = _one_pending_row_sql(audit_log, connection.alias)
        params = rows[0] if audit_log.tenant_id is None else (audit_log.tenant_id, *rows[0])
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return [cursor.fetchone()[0]]
    model = audit_log.pending_model
    statements = list(_insert_sql(audit_log, model, PENDING_COLUMNS, rows, "id"))
    return [row[0] for result in _run(audit_log, statements) for row in result]


@functools.lru_cache(maxsize=256)
def _one_pending_row_sql(audit_log: Log, alias: str) -> str:
    ((statement, _params),) = _insert_sql(
        audit_log, audit_log.pending_model, PENDING_COLUMNS, [(None,) * len(PENDING_COLUMNS)], "id"
    )
    return statement


ENTRY_COLUMNS = ["seq", "event", "actor", "created_at", "data", "leaf_hash", "root_hash"]


def write_batch(
    audit_log: Log, entries: list[tuple], nodes: list[tuple], size: int, frontier
) -> list[int]:
    """Insert the entries (seq, event, actor, created_at, data, leaf_hash, root_hash,
    pending_id) and nodes (level, index, hash), and move and seal the head: one round
    trip on PostgreSQL. Returns the entries' row ids, in order."""
    connection = connection_for(audit_log)
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(s, e, a, adapt(at), d, lf, rt, p) for s, e, a, at, d, lf, rt, p in entries]
    columns = [*ENTRY_COLUMNS, "pending_id"]
    statements = list(_insert_sql(audit_log, audit_log.entry_model, columns, rows, "id"))
    inserts = len(statements)
    statements += _insert_sql(audit_log, audit_log.node_model, ["level", "index", "hash"], nodes)
    scope, params = _scope(audit_log)
    root = frontier_root(frontier)
    statements.append(
        (
            f"UPDATE {_table(audit_log, audit_log.head_model)} SET size = %s, frontier = %s, "
            f"root_hash = %s, seal = %s, updated_at = %s {scope}",
            [
                size,
                json.dumps([h.hex() for h in frontier]),
                root,
                head_seal(audit_log.label, size, root),
                adapt(timezone.now()),
                *params,
            ],
        )
    )
    results = _run(audit_log, statements)
    return [row[0] for result in results[:inserts] for row in result]


# --- reads for proofs -----------------------------------------------------------------


def head_size(audit_log: Log) -> int:
    check_scope(audit_log)
    scope, params = _scope(audit_log)
    table = _table(audit_log, audit_log.head_model)
    rows = _run(audit_log, [(f"SELECT size FROM {table} {scope}", params)])[0]
    return rows[0][0] if rows else 0


def read_tree(audit_log: Log, nodes: set, root_seqs: set) -> tuple[dict, dict]:
    """Stored hashes by (level, index) — level 0 from the entries' leaf hashes — and the
    roots after the entries at `root_seqs` (by seq): one round trip on PostgreSQL."""
    check_scope(audit_log)
    seqs = sorted({index for level, index in nodes if level == 0} | set(root_seqs))
    inner = sorted((level, index) for level, index in nodes if level)
    scope, params = _scope(audit_log, "AND")
    statements = []
    if seqs:
        marks = ", ".join(["%s"] * len(seqs))
        statements.append(
            (
                f"SELECT seq, leaf_hash, root_hash FROM {_table(audit_log, audit_log.entry_model)} "
                f"WHERE seq IN ({marks}) {scope}",
                [*seqs, *params],
            )
        )
    if inner:
        pairs = ", ".join(["(%s, %s)"] * len(inner))
        index = connection_for(audit_log).ops.quote_name("index")
        statements.append(
            (
                f"SELECT level, {index}, hash FROM {_table(audit_log, audit_log.node_model)} "
                f"WHERE (level, {index}) IN (VALUES {pairs}) {scope}",
                [value for pair in inner for value in pair] + params,
            )
        )
    results = _run(audit_log, statements) if statements else []
    lookup, roots = {}, {}
    if seqs:
        for seq, leaf, root in results.pop(0):
            lookup[(0, seq)] = bytes(leaf)
            roots[seq] = bytes(root)
    for level, position, node in results[0] if results else []:
        lookup[(level, position)] = bytes(node)
    return lookup, roots
