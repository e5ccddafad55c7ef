"""Process-wide state of the cache manager: the in-process tier, the shared tier, the
generations this process has seen, the invalidation listener and the statistics.

Coherence across processes, in two layers:
- every change (a set, a delete, a namespace or tenant bump) is published on
  `shared.CHANNEL`; each process drops its in-process copy when the message arrives
  (milliseconds: bench row `cache.invalidation`);
- a message can be lost (a reconnect, a Redis restart), so no in-process copy outlives
  `CACHE_LOCAL_MAX_AGE`, generations are re-read at least every
  `CACHE_GENERATION_CHECK_SECONDS`, and while the listener is not subscribed the
  in-process tier is not used at all. A stale entry therefore never outlives the
  bounded time, whatever happens to the messages.
"""

from __future__ import annotations

import secrets
import threading
import time

from cache_mgr import config, prefetch, shared
from cache_mgr.local import LocalTier
from cache_mgr.prefetch import CoAccess
from tenancy import resettable
from tenancy.pubsub import Listener, MalformedMessage, configured_client, decode, encode, integer

ORIGIN = secrets.token_hex(6)  # this process: it ignores its own messages

# counters per (tenant, namespace), in this order
COUNTERS = (
    "local_hits",
    "shared_hits",
    "misses",
    "sets",
    "deletes",
    "loads",
    "degraded",
    "prefetched",
    "prefetch_hits",
    "early_refreshes",
    "quota_evictions",
    "invalidations",
)
INDEX = {name: i for i, name in enumerate(COUNTERS)}


def _text(value: str) -> str:
    if not value or "|" in value:
        raise ValueError("empty or contains |")
    return value


_LAYOUTS = {
    "g": (("origin", _text), ("tenant", integer), ("namespace", _text)),
    "k": (("origin", _text), ("tenant", integer), ("namespace", _text), ("key (hex)", _text)),
}


class State:
    def __init__(self):
        cfg = config.get()
        self.local = LocalTier(
            max_entries=cfg.local_max_entries,
            max_bytes=cfg.local_max_bytes,
            quota_keys=lambda tid: config.tenant_quota(tid, "keys"),
            quota_bytes=lambda tid: config.tenant_quota(tid, "bytes"),
        )
        self.shared = shared.backend()
        self.coaccess = CoAccess()
        # (tenant, namespace) -> ((tenant generation, namespace generation), checked at)
        self.generations: dict[tuple[int, str], tuple[tuple[int, int], float]] = {}
        self.counts: dict[tuple[int, str], list[int]] = {}
        self.next_flush = time.monotonic() + cfg.stats_flush
        self.lock = threading.Lock()
        self.messages_applied = 0

    # -- statistics ----------------------------------------------------------------------
    def count(self, tenant_id: int, namespace: str, name: str, n: int = 1) -> None:
        row = self.counts.get((tenant_id, namespace))
        if row is None:
            row = self.counts.setdefault((tenant_id, namespace), [0] * len(COUNTERS))
        row[INDEX[name]] += n

    def flush_stats(self) -> None:
        with self.lock:
            counts, self.counts = self.counts, {}
            self.next_flush = time.monotonic() + config.get().stats_flush
        rows: dict[str, dict[str, int]] = {}
        for (tenant_id, namespace), row in counts.items():
            fields = rows.setdefault(stats_key(tenant_id), {})
            for name, n in zip(COUNTERS, row, strict=True):
                if n:
                    fields[f"{namespace}|{name}"] = n
        if rows:
            self.shared.add_stats(rows)

    # -- messages ------------------------------------------------------------------------
    def apply(self, text: str) -> bool:
        try:
            kind, fields = decode(text, _LAYOUTS, channel="cache_mgr")
        except MalformedMessage:
            return False
        origin, tenant_id, namespace = fields[0], fields[1], fields[2]
        if origin == ORIGIN:
            return True
        if kind == "g":
            self.forget_generation(tenant_id, namespace)
        else:
            try:
                key = bytes.fromhex(fields[3]).decode()
            except ValueError:
                return False
            self.local.discard(tenant_id, (namespace, key))
        self.messages_applied += 1
        return True

    def forget_generation(self, tenant_id: int, namespace: str) -> None:
        """A namespace (or, for "*", the whole tenant) changed generation: re-read it,
        and drop the copies it made unreachable."""
        if namespace == shared.TENANT_WIDE:
            for known in [k for k in self.generations if k[0] == tenant_id]:
                self.generations.pop(known, None)
            self.local.drop_where(tenant_id, None)
        else:
            self.generations.pop((tenant_id, namespace), None)
            self.local.drop_where(tenant_id, lambda item: item[0] == namespace)

    def drop_everything(self) -> None:
        self.local.clear()
        self.generations.clear()


def stats_key(tenant_id: int) -> str:
    return f"dim:cs:{{t{tenant_id}}}"


def message_generation(tenant_id: int, namespace: str) -> str:
    """A generation moved on: receivers re-read it (the message need not carry it)."""
    return encode("g", ORIGIN, tenant_id, namespace)


def message_key(tenant_id: int, namespace: str, key: str) -> str:
    return encode("k", ORIGIN, tenant_id, namespace, key.encode().hex())


_state: State | None = None
_state_lock = threading.Lock()


def state() -> State:
    global _state
    if _state is None:
        with _state_lock:
            if _state is None:
                _state = State()
    return _state


def _on_message(text: str) -> None:
    state().apply(text)


def _on_subscribed() -> None:
    # Messages sent while we were away are lost: start from nothing.
    if _state is not None:
        _state.drop_everything()


listener = Listener(
    shared.CHANNEL,
    name="dim-cache-mgr",
    client=configured_client,
    on_message=_on_message,
    on_subscribed=_on_subscribed,
)


def local_tier_usable() -> bool:
    """The in-process tier is trusted only where no other process can change the shared
    tier behind our back (the embedded default) or while we hear every change."""
    if not config.get().local_tier:
        return False
    if not state().shared.has_pubsub:
        return True
    if listener.healthy:
        return True
    listener.start()  # idempotent; until subscribed, every read goes to the shared tier
    return False


@resettable.register
def reset() -> None:
    global _state
    with _state_lock:
        _state = None
    prefetch.forget_thread()
