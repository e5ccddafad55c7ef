"""Writing a SecurityEvent together with its audit entry.

Threat detection writes them at a rate an attacker sets. Through the ORM a pair costs
five round trips (BEGIN, two INSERTs, the commit setting, COMMIT) and most of a
millisecond of Python; here, outside a caller's transaction on PostgreSQL, it is one
statement: the event's INSERT and the audit queue's INSERT in one CTE, so the two rows
exist together or not at all, committed without waiting for the WAL flush. The verdict
already stands in Redis, and a database crash can lose at most the last three
wal_writer_delay (3 × 200 ms) of events, never corrupt them; nor does such a commit
wait for a synchronous standby, so a failover can lose them too (PostgreSQL's
asynchronous commit; session creation does the same). A later synchronous commit,
such as the sequencer's, flushes them: an entry under a signed tree head is durable.
Inside a caller's transaction the ORM path runs, so the caller's commit keeps its
durability.
"""

from __future__ import annotations

import functools
import json

from django.db import connection, transaction
from django.utils import timezone

import audit_mgr as audit
from security_mgr.models import SecurityEvent
from tenancy.context import require_tenant_id


@functools.cache
def _statement() -> str:
    events = connection.ops.quote_name(SecurityEvent._meta.db_table)
    queue = audit.queue_insert_sql(
        "event",
        ["%s"] * len(audit.QUEUE_COLUMNS),
        where="set_config('synchronous_commit', 'off', true) IS NOT NULL",
    )
    return (
        f"WITH event AS (INSERT INTO {events} (tenant_id, type, severity, actor, source, "
        "details, action, created_at) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s) "
        f"RETURNING id) {queue}"
    )


def record_security_event(type_, severity, *, actor, source, details, action) -> None:
    """The event, in the context's tenant, and its `security.<type>` audit entry."""
    payload = {"severity": severity, "source": source, "action": action, **details}
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        with transaction.atomic():
            SecurityEvent.objects.create(
                type=type_,
                severity=severity,
                actor=actor[:150],
                source=source[:64],
                details=details,
                action=action,
            )
            audit.append(f"security.{type_}", payload, actor=actor)
        return
    tenant_id = require_tenant_id("recording a security event")
    now = timezone.now()
    params = [
        *(tenant_id, str(type_), str(severity), actor[:150], source[:64], json.dumps(details)),
        *(action, now, tenant_id),
        *audit.queued_values(f"security.{type_}", payload, actor=actor, at=now),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
    audit.sequence_soon(audit.tenant_log(tenant_id))
