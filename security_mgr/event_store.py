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

import json

from django.db import connection, transaction
from django.utils import timezone

from security_mgr import audit
from security_mgr.audit.logs import canonical_payload, micros
from security_mgr.models import PendingAuditEntry, SecurityEvent
from tenancy.context import require_tenant_id


def _statement() -> str:
    quote = connection.ops.quote_name
    events, pending = (quote(m._meta.db_table) for m in (SecurityEvent, PendingAuditEntry))
    return (
        f"WITH event AS (INSERT INTO {events} (tenant_id, type, severity, actor, source, "
        "details, action, created_at) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s) "
        f"RETURNING id) INSERT INTO {pending} (tenant_id, event, actor, at_us, payload) "
        "SELECT %s, %s, %s, %s, %s FROM event "
        "WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL"
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
        *(action, now, tenant_id, f"security.{type_}", actor, micros(now)),
        canonical_payload(payload),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
    audit.sequence_soon(audit.tenant_log(tenant_id))
