"""The audit log's writes that callers name as actions (the facade, the API, tests):
appending an event to the tenant's or the platform's log, recording a security event
with its entry, and signing a tree head. `append()` joins the caller's transaction;
`record_security_event` joins it too, or is one statement of its own (see
`event_store`); signing owns its own transaction (see `heads`)."""

from audit_mgr.event_store import record_security_event
from audit_mgr.heads import sign_tree_head as _sign
from audit_mgr.logs import platform_log, tenant_log
from audit_mgr.sequencer import append


def record_event(event: str, payload: dict | None = None, *, actor: str = ""):
    """Append an entry to the current tenant's audit log (any manager may call it).
    Returns the pending row, sequenced once its transaction commits (`entry_of` gives
    its entry at once); outside a transaction in commit mode, the entry."""
    return append(event, payload or {}, actor=actor)


def record_platform_event(event: str, payload: dict | None = None, *, actor: str = ""):
    return append(event, payload or {}, actor=actor, log=platform_log())


def sign_tree_head(*, platform: bool = False):
    return _sign(platform_log() if platform else tenant_log())


def record_tenant_event(tenant_id: int, event: str, payload: dict, actor: str = "") -> None:
    """`tenancy.hooks.tenant_event`: the event in the tenant's own log, in the caller's
    transaction (so it commits or rolls back with what it records)."""
    append(event, payload or {}, actor=actor, log=tenant_log(tenant_id))


__all__ = [
    "record_event",
    "record_platform_event",
    "record_security_event",
    "record_tenant_event",
    "sign_tree_head",
]
