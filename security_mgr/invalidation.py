"""Key-ring cache invalidation across processes, over Redis pub/sub.

After a transaction that changed a key ring commits, `keyring.invalidate` publishes on
`CHANNEL` which entries every process must drop:

    r|<tenant id>|<subject>   one ring (the subject may contain anything, even "|")
    t|<tenant id>             every ring of the tenant (shredding)

Each process's listener (started on the first key-ring load when Redis is configured and
`SECURITY_KEY_LISTENER` is on) drops them. On every (re)subscription it drops the whole
cache, since messages published meanwhile are lost. `keyring` trusts its cache for the
long TTL only while `listener.healthy`; otherwise for one second (see keyring's
docstring). Pub/sub channels are global to a Redis server, not per database number:
a message about a tenant id of another deployment only costs a reload here.

This module knows nothing of the cache it empties: `keyring` hands it its `forget`
(`connect()`, at import), so the two do not import each other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tenancy.pubsub import Listener, channel, configured_client

log = logging.getLogger("dim.security")
CHANNEL = channel("dim:security:keyrings")

#: Counters for operators and tests: messages applied, (re)subscriptions, failures.
stats = {"messages_applied": 0, "subscriptions": 0, "publish_errors": 0, "listener_errors": 0}


def _forget_nothing(tenant_id: int | None = None, subject: str | None = None) -> None:
    pass


#: `keyring.forget(tenant_id=None, subject=None)`, once keyring is imported.
_forget: Callable[..., None] = _forget_nothing


def connect(forget: Callable[..., None]) -> None:
    """The cache whose entries the messages drop (keyring calls it at import)."""
    global _forget
    _forget = forget


def _client():
    return configured_client("SECURITY_KEY_LISTENER")


def message(tenant_id: int, subject: str | None) -> str:
    return f"t|{int(tenant_id)}" if subject is None else f"r|{int(tenant_id)}|{subject}"


def apply(text: str) -> bool:
    """Drop what a message names. False (and nothing dropped) for a malformed one."""
    kind, _, rest = text.partition("|")
    tenant, _, subject = rest.partition("|")
    try:
        tenant_id = int(tenant)
    except ValueError:
        log.warning("keyring_invalidation_malformed", extra={"event_message": text[:200]})
        return False
    if kind == "t":
        _forget(tenant_id)
    elif kind == "r":
        _forget(tenant_id, subject)
    else:
        log.warning("keyring_invalidation_malformed", extra={"event_message": text[:200]})
        return False
    stats["messages_applied"] += 1
    return True


def _on_subscribed() -> None:
    _forget()
    stats["subscriptions"] += 1


def _on_error(exc: Exception) -> None:
    stats["listener_errors"] += 1


listener = Listener(
    CHANNEL,
    name="dim-keyring-invalidation",
    client=_client,
    on_message=apply,
    on_subscribed=_on_subscribed,
    on_error=_on_error,
)


def ensure_listener() -> bool:
    """Start the listener once per process (no-op without Redis). Whether the cache
    may be trusted for the long TTL right now."""
    if not listener.running:
        listener.start()
    return listener.healthy


def publish(tenant_id: int, subject: str | None) -> bool:
    """Tell the other processes (one retry). A Redis failure never fails the committed
    change: when Redis is down the other listeners are unhealthy too and their caches
    fall back to the one-second bound; a message lost while they stay subscribed is
    covered by the `SECURITY_KEY_CACHE_SECONDS` backstop."""
    client = _client()
    if client is None:
        return False
    text = message(tenant_id, subject)
    for attempt in (1, 2):
        try:
            client.publish(CHANNEL, text)
            return True
        except Exception as exc:  # noqa: BLE001  (any Redis failure: degrade, never fail)
            if attempt == 2:
                stats["publish_errors"] += 1
                log.error("keyring_invalidation_publish_failed", extra={"error": repr(exc)})
    return False
