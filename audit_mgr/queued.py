"""Queueing an entry inside the caller's own statement: the one-statement path.

A hot path that writes its own row with hand-written SQL (session creation, a security
event) queues its audit entry in the same statement, a CTE whose second INSERT fills the
tenant log's pending queue: both rows exist together or not at all, in one round trip.
The queue's columns are spelled here once, for those statements and for the sequencer's
own (`store`); the caller names only its source and its placeholders:

    sql = queue_insert_sql("created", ["$16", "$17", "$18", "$19"], tenant="tenant_id")
    params = [..., *queued_values("session.created", payload, actor=actor, at=now)]

After the statement, `sequence_soon(tenant_log(tenant_id))` has a worker number the
entry once the transaction commits (what `append()` does for its own INSERT).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection as default_connection

from audit_mgr.logs import canonical_payload, micros

#: The pending queue's columns besides the tenant, in order, with the PostgreSQL type of
#: each value (for statements that must cast their parameters).
QUEUE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event", "varchar"),
    ("actor", "text"),
    ("at_us", "bigint"),
    ("payload", "text"),
)
COLUMN_NAMES = [name for name, _type in QUEUE_COLUMNS]


def queued_values(event: str, payload: dict | None, *, actor: str = "", at: dt.datetime):
    """The values of one queued entry, in QUEUE_COLUMNS order. The payload is made
    canonical here, so a payload JSON cannot carry fails in the caller, as `append()`
    does."""
    return (event, actor, micros(at), canonical_payload(payload or {}))


def queue_insert_sql(
    source: str,
    values: Sequence[str],
    *,
    tenant: str = "%s",
    where: str = "",
    connection=None,
) -> str:
    """`INSERT INTO <tenant pending queue> (tenant_id, <QUEUE_COLUMNS>) SELECT <tenant>,
    <values> FROM <source> [WHERE <where>]`: the second half of a caller's CTE.

    `values` are SQL expressions (placeholders, usually) in QUEUE_COLUMNS order;
    `tenant` is the expression of the tenant (a placeholder, or a column of `source`).
    The text depends only on its arguments: callers build it once and keep it."""
    from audit_mgr.models import PendingAuditEntry

    if len(values) != len(QUEUE_COLUMNS):
        raise ValueError(
            f"queue_insert_sql needs {len(QUEUE_COLUMNS)} values, one per column of "
            f"QUEUE_COLUMNS ({', '.join(COLUMN_NAMES)}), not {len(values)}"
        )
    quote = (connection or default_connection).ops.quote_name
    columns = ", ".join(quote(name) for name in ("tenant_id", *COLUMN_NAMES))
    sql = (
        f"INSERT INTO {quote(PendingAuditEntry._meta.db_table)} ({columns}) "
        f"SELECT {', '.join([tenant, *values])} FROM {source}"
    )
    return f"{sql} WHERE {where}" if where else sql
