"""The PostgreSQL statement that creates a session, prepared once per connection.

One statement checks the concurrency limit, inserts the session and queues its
`session.created` audit entry: the two rows exist together or not at all, in one round
trip. PostgreSQL spends more time parsing, rewriting (the RLS policies of both tables)
and planning this statement than executing it, so it is prepared (`PREPARE`) once per
database connection and then run as `EXECUTE name(values)`: the parse/plan work is paid
once per connection instead of once per login. Row-level security still applies to
every execution: the policies read the connection's `app.tenant_id` when the statement
runs, and PostgreSQL re-plans a prepared statement when the role changes.

SQL-level prepared statements live in the server session; a transaction-pooling proxy
(PgBouncer in transaction mode) would hand the EXECUTE to another session. The project
pools with psycopg inside the process, where the connection and its statements stay
together. If the statement disappears anyway (`DEALLOCATE ALL`, `DISCARD ALL`), the next
creation prepares it again (in autocommit at once; inside a caller's transaction that
transaction fails, as any statement error would fail it).
"""

from __future__ import annotations

import zlib

from django.db import ProgrammingError

from tenancy.db.batch import run_statements

# (column, type of its parameter). The $n of the statement follow this order.
_PARAMS = [
    ("tenant_id", "bigint"),
    ("id", "varchar"),
    ("user_id", "integer"),
    ("session_type", "varchar"),
    ("security_level", "varchar"),
    ("created_at", "timestamptz"),  # also last_seen_at, and the limit's "now"
    ("idle_expires_at", "timestamptz"),
    ("absolute_expires_at", "timestamptz"),
    ("ip", "inet"),
    ("user_agent", "varchar"),
    ("device_fingerprint", "varchar"),
    ("token_hash", "varchar"),
    ("key_version", "integer"),
    ("step_up_required", "boolean"),
    ("max_sessions", "integer"),
    ("event", "varchar"),
    ("actor", "text"),
    ("at_us", "bigint"),
    ("payload", "text"),
]
PARAM_NAMES = [name for name, _type in _PARAMS]
# Columns of a new session that are always the model's defaults (Session's fields):
# token_generation 0, revoke_reason '', risk_score 0, features {} (revoked_at NULL).
_INSERT = (
    "INSERT INTO sessions_mgr_session (tenant_id, id, user_id, session_type, security_level, "
    "created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, "
    "device_fingerprint, token_hash, token_generation, key_version, revoke_reason, "
    "risk_score, step_up_required, features) "
    "SELECT $1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, 0, $13, '', 0, $14, "
    "'{{}}'::jsonb "
    "WHERE {relax}(SELECT COUNT(*) FROM (SELECT 1 FROM sessions_mgr_session "
    "WHERE tenant_id = $1 AND user_id = $3 AND revoked_at IS NULL AND absolute_expires_at > $6 "
    "ORDER BY revoked_at LIMIT $15) AS live) < $15"
)
# A new session need not survive a database crash (its user logs in again), so when the
# statement is its own transaction its commit does not wait for the WAL flush. Inside a
# caller's transaction it would relax the caller's writes too: not done there.
# Revocations always keep synchronous commits.
_RELAX = "set_config('synchronous_commit', 'off', true) IS NOT NULL AND "
_AUDITED = (
    "WITH created AS ({insert} RETURNING tenant_id) "
    "INSERT INTO {pending} (tenant_id, event, actor, at_us, payload) "
    "SELECT tenant_id, $16, $17, $18, $19 FROM created"
)


def statement_sql(autocommit: bool) -> str:
    """The statement's text with $n parameters (what PREPARE gets)."""
    from security_mgr.models import PendingAuditEntry

    return _AUDITED.format(
        insert=_INSERT.format(relax=_RELAX if autocommit else ""),
        pending=f'"{PendingAuditEntry._meta.db_table}"',
    )


class _Prepared:
    """Name and SQL of one variant. The name carries a checksum of the SQL, so a
    connection never runs a statement prepared from another version of the text."""

    def __init__(self, autocommit: bool):
        self.sql = statement_sql(autocommit)
        self.name = f"dim_session_create_{zlib.crc32(self.sql.encode()):08x}"
        types = ", ".join(type_ for _name, type_ in _PARAMS)
        self.prepare = f"PREPARE {self.name} ({types}) AS {self.sql}"
        # The plan PostgreSQL keeps for the statement is made once, from the table's
        # size at that moment: on a new (near empty) table that is a sequential scan
        # for the limit check, and it would stay one, scanning every session, while
        # the table grows until an ANALYZE. The index (tenant, user, revoked_at) is
        # the right path at any size: whichever execution (re)plans, it plans with
        # sequential scans disabled. SET LOCAL runs in the same round trip and ends
        # with the statement's transaction (inside a caller's, it is reset at once).
        # Typed placeholders: the values are bound on the server, which cannot infer
        # the types of an EXECUTE's arguments.
        execute = f"EXECUTE {self.name} ({', '.join(f'%s::{t}' for _n, t in _PARAMS)})"
        self.execute = [("SET LOCAL enable_seqscan = off", None), (execute, None)]
        if not autocommit:
            self.execute.append(("SET LOCAL enable_seqscan TO DEFAULT", None))


_variants: dict[bool, _Prepared] = {}
_MARK = "_dim_prepared_statements"  # on the driver's connection: what it has prepared


def _variant(autocommit: bool) -> _Prepared:
    variant = _variants.get(autocommit)
    if variant is None:
        variant = _variants[autocommit] = _Prepared(autocommit)
    return variant


def _ensure_prepared(db, cursor, variant: _Prepared) -> None:
    """PREPARE the variant on this physical connection unless it already is. The
    check asks the server once per connection (a connection may come back from the
    pool, or a caller may have prepared it), so a duplicate PREPARE never fails."""
    raw = db.connection
    prepared = getattr(raw, _MARK, None)
    if prepared is None:
        prepared = set()
        setattr(raw, _MARK, prepared)
    if variant.name in prepared:
        return
    cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [variant.name])
    if cursor.fetchone() is None:
        cursor.execute(variant.prepare)  # names the tables: the backend sends the tenant
    prepared.add(variant.name)


def _forget(db, variant: _Prepared) -> None:
    prepared = getattr(db.connection, _MARK, None) if db.connection is not None else None
    if prepared is not None:
        prepared.discard(variant.name)


def _missing_statement(exc: Exception) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "26000"  # invalid_sql_statement_name


def insert_session(db, params: list) -> bool:
    """Run the statement on `db` (the tenancy PostgreSQL backend) with values in
    PARAM_NAMES order. True when the session was inserted (with its audit entry); False
    when the user is at the limit (nothing written)."""
    autocommit = db.get_autocommit()
    variant = _variant(autocommit)
    with db.cursor() as cursor:
        _ensure_prepared(db, cursor, variant)
        try:
            return _execute(db, cursor, variant, params)
        except ProgrammingError as exc:
            if not _missing_statement(exc):
                raise
            _forget(db, variant)
            if not autocommit:
                raise  # the failed statement aborted the caller's transaction
        _ensure_prepared(db, cursor, variant)
        return _execute(db, cursor, variant, params)


def _execute(db, cursor, variant: _Prepared, params: list) -> bool:
    # One round trip (pipelined), the tenant's claim in front when it must change.
    statements = list(variant.execute)
    statements[1] = (statements[1][0], params)
    _rows, count = run_statements(db, statements)[1]
    return count == 1
