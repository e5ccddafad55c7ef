"""Recording a security event together with its audit entry: the one write path of
`SecurityEvent` (threat detection and the session manager both call it).

Threat detection writes them at a rate an attacker sets. Through the ORM a pair costs
five round trips (BEGIN, two INSERTs, the commit setting, COMMIT) and most of a
millisecond of Python; here, outside a caller's transaction on PostgreSQL, it is one
statement: the event's INSERT and the audit queue's INSERT in one CTE (`queued`), so
the two rows exist together or not at all, committed without waiting for the WAL
flush. The verdict already stands in Redis, and a database crash can lose at most the
last three wal_writer_delay (3 × 200 ms) of events, never corrupt them; nor does such
a commit wait for a synchronous standby, so a failover can lose them too (PostgreSQL's
asynchronous commit; session creation does the same). A later synchronous commit,
such as the sequencer's, flushes them: an entry under a signed tree head is durable.
Inside a caller's transaction the ORM path runs, so the caller's commit keeps its
durability (and the event commits or rolls back with what the caller did about it).
"""

from __future__ import annotations

import functools
import json

from django.db import connection
from django.utils import timezone

from audit_mgr.logs import tenant_log
from audit_mgr.queued import QUEUE_COLUMNS, queue_insert_sql, queued_values
from audit_mgr.security_events import SecurityEvent
from audit_mgr.sequencer import append, sequence_soon
from tenancy import db as tenant_db
from tenancy.context import require_tenant_id

#: The event's columns besides the tenant, in the statement's order, with the cast of
#: each placeholder.
_COLUMNS = (
    ("type", "%s"),
    ("severity", "%s"),
    ("actor", "%s"),
    ("source", "%s"),
    ("session_id_ref", "%s"),
    ("user_id_ref", "%s"),
    ("score", "%s"),
    ("details", "%s::jsonb"),
    ("action", "%s"),
    ("created_at", "%s"),
)


@functools.cache
def _statement() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in ("tenant_id", *(n for n, _ in _COLUMNS)))
    values = ", ".join(["%s", *(placeholder for _, placeholder in _COLUMNS)])
    queue = queue_insert_sql(
        "event",
        ["%s"] * len(QUEUE_COLUMNS),
        where="set_config('synchronous_commit', 'off', true) IS NOT NULL",
    )
    return (
        f"WITH event AS (INSERT INTO {quote(SecurityEvent._meta.db_table)} ({columns}) "
        f"VALUES ({values}) RETURNING id) {queue}"
    )


def record_security_event(
    type_: str,
    severity: str,
    *,
    actor: str = "",
    source: str = "",
    details: dict | None = None,
    action: str = "",
    session_id: str = "",
    user_id: int | None = None,
    score: float | None = None,
) -> None:
    """The event, in the context's tenant, and its `security.<type>` audit entry (whose
    payload carries the severity, source, action, the session references when given,
    and the details)."""
    details = details or {}
    refs = {"session": session_id, "user_id": user_id, "score": score}
    payload = {
        "severity": severity,
        "source": source,
        "action": action,
        **{key: value for key, value in refs.items() if value not in ("", None)},
        **details,
    }
    values = {
        "type": str(type_),
        "severity": str(severity),
        "actor": actor[:150],
        "source": source[:64],
        "session_id_ref": session_id or "",
        "user_id_ref": user_id,
        "score": score,
        "details": details,
        "action": action,
    }
    # The tenant's database: a dedicated tenant's events and audit entries live there.
    connection = tenant_db.connection_for()
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with tenant_db.atomic():
            SecurityEvent.objects.create(**values)
            append(f"security.{type_}", payload, actor=actor)
        return
    tenant_id = require_tenant_id("recording a security event")
    now = timezone.now()
    row = {**values, "details": json.dumps(details), "created_at": now}
    params = [
        tenant_id,
        *(row[name] for name, _ in _COLUMNS),
        tenant_id,
        *queued_values(f"security.{type_}", payload, actor=actor, at=now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
    sequence_soon(tenant_log(tenant_id))
