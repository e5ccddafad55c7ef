"""Which log, and what an entry's leaf is made of.

An entry's leaf is SHA-256(0x00 || data), where `data` is the canonical JSON of the
entry: log label, seq, event, actor, time (µs since the epoch) and payload.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii

from tenancy.context import require_tenant_id

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Log:
    label: str  # "tenant:<id>" or "platform"
    tenant_id: int | None
    entry_model: type
    head_model: type
    sth_model: type
    pending_model: type
    node_model: type

    def entries(self):
        return self.entry_model.objects.all()

    def heads(self):
        return self.sth_model.objects.all()

    def pending(self):
        return self.pending_model.objects.all()

    def nodes(self):
        return self.node_model.objects.all()


def tenant_log(tenant_id: int | None = None) -> Log:
    return _tenant_log(tenant_id or require_tenant_id("the tenant audit log"))


@functools.lru_cache(maxsize=4096)
def _tenant_log(tenant_id: int) -> Log:
    # A Log is immutable: one per tenant, instead of a new one per audited call.
    from audit_mgr.models import (
        AuditEntry,
        AuditLogHead,
        AuditNode,
        PendingAuditEntry,
        SignedTreeHead,
    )

    return Log(
        f"tenant:{tenant_id}",
        tenant_id,
        AuditEntry,
        AuditLogHead,
        SignedTreeHead,
        PendingAuditEntry,
        AuditNode,
    )


def platform_log() -> Log:
    from audit_mgr.models import (
        PlatformAuditEntry,
        PlatformAuditNode,
        PlatformLogHead,
        PlatformPendingEntry,
        PlatformTreeHead,
    )

    return Log(
        "platform",
        None,
        PlatformAuditEntry,
        PlatformLogHead,
        PlatformTreeHead,
        PlatformPendingEntry,
        PlatformAuditNode,
    )


def log_of(row) -> Log:
    """The log a pending row or an entry belongs to."""
    tenant_id = getattr(row, "tenant_id", None)
    return platform_log() if tenant_id is None else tenant_log(tenant_id)


def micros(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def _dumps(value) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def canonical_payload(payload: dict) -> str:
    """The payload as it appears inside the entry's data (raises on what JSON cannot
    carry, so a bad payload fails at append time, in the caller)."""
    return _dumps(payload)


def canonical_data(
    log: Log, seq: int, event: str, actor: str, at: dt.datetime, payload: dict
) -> str:
    return _dumps(
        {
            "v": 1,
            "log": log.label,
            "seq": seq,
            "event": event,
            "actor": actor,
            "at_us": micros(at),
            "payload": payload,
        }
    )


def data_from_parts(label: str, seq: int, event: str, actor: str, at_us: int, payload: str) -> str:
    """`canonical_data` assembled around an already canonical payload: the same bytes
    (the keys in sorted order, the same escaping), without parsing the payload again."""
    return (
        f'{{"actor":{_string(actor)},"at_us":{at_us},"event":{_string(event)},'
        f'"log":{_string(label)},"payload":{payload},"seq":{seq},"v":1}}'
    )


# A JSON string exactly as `_dumps` writes one (ensure_ascii), by the C function json
# itself uses, without building an encoder per call: the sequencer calls it three
# times per entry.
_string = encode_basestring_ascii
