"""A process-local copy of users' memberships, in front of the shared cache.

Every API request resolves its tenant from the user's memberships. The shared cache
(Redis) costs a round trip and an unpickle per request; this copy costs a dict lookup.
It is trusted only while this process's listener is subscribed to `CHANNEL`: every
membership or tenant change publishes `m|<user id>` (or `M` for everyone) after its
transaction commits, and each process drops what it names. The writing process drops
its own copy at once, before the commit. Messages lost while the listener was away
cannot matter: the copy is emptied at every (re)subscription and every
`RESYNC_SECONDS`. Without Redis (the embedded default) nothing is kept here.
A change made while this process could not reach Redis (its shared copy not dropped, its
message not published) is redelivered as soon as Redis answers again: before the next
lookup uses the shared cache, and when the listener resubscribes.

A revoked membership therefore stops resolving in every process within the pub/sub
delay (milliseconds; `bench` row `sessions.propagation` measures the same channel
kind), not within the shared cache's TTL.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from tenancy import degraded, resettable
from tenancy.context import no_tenant
from tenancy.pubsub import Listener, channel, configured_client, decode, encode, integer, receive

log = logging.getLogger("dim.tenancy")
CHANNEL = channel("dim:tenancy:memberships")
RESYNC_SECONDS = 60.0
MAX_USERS = 50_000  # beyond this the copy starts over rather than grow without bound

_local: dict[int, list] = {}
_epoch = 0
_lock = threading.Lock()
stats = {"hits": 0, "messages_applied": 0, "subscriptions": 0, "publish_errors": 0}
# Users whose shared copy could not be dropped, or whose change could not be published,
# while Redis was down: redelivered once it answers (`redeliver_drops`).
undelivered: set[int] = set()


_LAYOUTS = {"m": (("user id", integer),), "M": ()}


@dataclass(frozen=True, slots=True)
class MembershipMessage:
    """`m|<user id>`: drop that user's memberships; `M` (user_id None): drop everyone's."""

    user_id: int | None

    def to_wire(self) -> str:
        return encode("M") if self.user_id is None else encode("m", int(self.user_id))

    @classmethod
    def from_wire(cls, text: str) -> MembershipMessage:
        kind, fields = decode(text, _LAYOUTS, channel="membership")
        return cls(fields[0] if kind == "m" else None)


def shared_key(user_id) -> str:
    """The user's memberships in the shared cache (tenancy.resolution.memberships_of)."""
    return f"dim:memberships:{user_id}"


def _client():
    return configured_client("TENANT_MEMBERSHIP_LISTENER")


def _drop_all() -> None:
    global _epoch
    with _lock:
        _epoch += 1
        _local.clear()


def _drop(user_id: int) -> None:
    global _epoch
    with _lock:
        _epoch += 1
        _local.pop(user_id, None)


def apply(text: str) -> bool:
    """Drop what a message names; False for a malformed message (nothing dropped)."""
    message = receive(text, MembershipMessage.from_wire, malformed="membership_message_malformed")
    if message is None:
        return False
    if message.user_id is None:
        _drop_all()
    else:
        _drop(message.user_id)
    stats["messages_applied"] += 1
    return True


def _on_subscribed() -> None:
    _drop_all()
    stats["subscriptions"] += 1
    if undelivered:
        redeliver_drops()


@resettable.register
def reset() -> None:
    """Forget every copy and every undelivered drop (tests: user ids repeat)."""
    _drop_all()
    with _lock:
        undelivered.clear()


def note_undelivered(user_ids) -> None:
    with _lock:
        undelivered.update(int(uid) for uid in user_ids)


def take_undelivered() -> list[int]:
    with _lock:
        user_ids = sorted(undelivered)
        undelivered.clear()
    return user_ids


listener = Listener(
    CHANNEL,
    name="dim-membership-cache",
    client=_client,
    on_message=apply,
    on_subscribed=_on_subscribed,
    on_tick=_drop_all,
    tick_seconds=lambda: RESYNC_SECONDS,
)


def lookup(user_id: int) -> list | None:
    if not listener.healthy:
        listener.start()  # idempotent; stays unhealthy (never trusted) without Redis
        return None
    found = _local.get(user_id)
    if found is not None:
        stats["hits"] += 1
    return found


def epoch() -> int:
    """Read before loading; pass to `remember` so a load that raced a drop is not kept."""
    return _epoch


def remember(user_id: int, memberships: list, loaded_at_epoch: int) -> None:
    if not listener.healthy:
        return
    with _lock:
        if _epoch != loaded_at_epoch:
            return
        if len(_local) >= MAX_USERS:
            _local.clear()
        _local[user_id] = memberships


def forget(user_ids) -> None:
    """Drop here now and, once the change commits, in every process."""
    ids = [int(uid) for uid in user_ids]
    for uid in ids:
        _drop(uid)
    if not ids or _client() is None:
        return
    transaction.on_commit(lambda: _publish(ids), robust=True)


def _publish(user_ids: list[int]) -> bool:
    """Tell every process to drop these users' memberships."""
    client = _client()
    if client is None:
        return True
    try:
        # A cluster refuses PUBLISH in a pipeline: there, one call per user.
        pipe = client if type(client).__name__ == "RedisCluster" else client.pipeline(False)
        for uid in user_ids:
            pipe.publish(CHANNEL, MembershipMessage(uid).to_wire())
        if pipe is not client:
            pipe.execute()
    except Exception as exc:  # noqa: BLE001  (the commit happened; redelivered later)
        stats["publish_errors"] += 1
        log.error("membership_publish_failed", extra={"error": repr(exc)})
        note_undelivered(user_ids)
        return False
    return True


publish_now = _publish


def drop_shared(user_ids) -> bool:
    """Delete the users' shared copies; False (and remembered for `redeliver_drops`)
    when Redis cannot be reached: a copy that outlived a change must not be served once
    Redis is back."""
    keys = [shared_key(uid) for uid in user_ids]
    with no_tenant():
        done = degraded.shared_cache("memberships_drop", lambda: cache.delete_many(keys) or True)
    if not done:
        note_undelivered(user_ids)
    return bool(done)


def redeliver_drops() -> None:
    """Drops and publications that failed while Redis was down, once it answers again
    (called by the next lookup, and by the membership listener when it resubscribes)."""
    if not degraded.redis.usable():
        return
    user_ids = take_undelivered()
    if user_ids and drop_shared(user_ids):
        publish_now(user_ids)
