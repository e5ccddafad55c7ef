"""The PostgreSQL statement that creates a session.

One statement checks the concurrency limit, inserts the session and queues its
`session.created` audit entry: the two rows exist together or not at all, in one round
trip (pipelined with the planner option it runs under, and the tenant's claim when the
connection must change it). The values are bound on the server, never in the statement
text (pg_stat_activity, readable by every session of the runtime role, shows `$n`).

It is not prepared. An SQL-level `PREPARE`/`EXECUTE` cannot take bind parameters
(PostgreSQL passes none into a utility statement: "there is no parameter $1"), and
psycopg's protocol-level preparation drops its cache on every ROLLBACK, savepoint
rollbacks included, which in pipeline mode left it executing a statement it had just
deallocated ("prepared statement _pg3_1 does not exist"). Parsing and planning are paid
per creation; `make bench` (sessions.create) measures what that costs.
"""

from __future__ import annotations

import re

from audit_mgr.queued import QUEUE_COLUMNS, queue_insert_sql
from tenancy.db.batch import run_statements

# (column, type of its parameter). The $n of the statement text follow this order.
_SESSION_PARAMS = [
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
]
# Then the `session.created` entry's values, one per column of the audit queue (the
# audit log owns the list: audit_mgr.queued).
_PARAMS = [*_SESSION_PARAMS, *((f"audit_{name}", type_) for name, type_ in QUEUE_COLUMNS)]
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


def statement_sql(autocommit: bool) -> str:
    """The statement's text with $n parameters (what a psql `PREPARE` would take): the
    session's INSERT, and the audit queue's INSERT of its entry (from audit_mgr, which
    owns the queue's table and columns) in the same statement."""
    first = len(_SESSION_PARAMS) + 1
    audit_values = [f"${n}" for n in range(first, first + len(QUEUE_COLUMNS))]
    insert = _INSERT.format(relax=_RELAX if autocommit else "")
    queue = queue_insert_sql("created", audit_values, tenant="tenant_id")
    return f"WITH created AS ({insert} RETURNING tenant_id) {queue}"


def _named(sql: str) -> str:
    """$n -> %(name)s::type: psycopg binds a repeated name to one server parameter, and
    the cast gives each its type wherever the server cannot infer one. (The $n text is
    what a psql PREPARE takes: the tests EXPLAIN the generic plan through one.)"""

    def placeholder(match: re.Match) -> str:
        name, type_ = _PARAMS[int(match.group(1)) - 1]
        return f"%({name})s::{type_}"

    return re.sub(r"\$(\d+)", placeholder, sql.replace("%", "%%"))


class _Variant:
    """One variant's SQL and the statements sent with it. A plan made while the table is
    near empty (a new installation, stale statistics) is a sequential scan for the limit
    check, which scans every session once the table has grown until an ANALYZE. The
    index (tenant, user, revoked_at) is the right path at any size, so the statement is
    planned with sequential scans disabled. SET LOCAL runs in the same round trip and
    ends with the statement's transaction (inside a caller's, it is reset at once)."""

    def __init__(self, autocommit: bool):
        self.sql = statement_sql(autocommit)
        self.query = _named(self.sql)
        self.before = [("SET LOCAL enable_seqscan = off", None)]
        self.after = [] if autocommit else [("SET LOCAL enable_seqscan TO DEFAULT", None)]


_variants: dict[bool, _Variant] = {}


def _variant(autocommit: bool) -> _Variant:
    variant = _variants.get(autocommit)
    if variant is None:
        variant = _variants[autocommit] = _Variant(autocommit)
    return variant


def statements_for(variant: _Variant, params: list, *, explain: bool = False) -> list:
    """The statements of one creation, for run_statements (tests EXPLAIN the middle one)."""
    values = dict(zip(PARAM_NAMES, params, strict=True))
    query = ("EXPLAIN " if explain else "") + variant.query
    return [*variant.before, (query, values), *variant.after]


def insert_session(db, params: list) -> bool:
    """Run the statement on `db` (the tenancy PostgreSQL backend) with values in
    PARAM_NAMES order. True when the session was inserted (with its audit entry); False
    when the user is at the limit (nothing written). One round trip (pipelined), the
    tenant's claim in front when it must change."""
    variant = _variant(db.get_autocommit())
    results = run_statements(db, statements_for(variant, params))
    _rows, count = results[len(variant.before)]
    return count == 1
