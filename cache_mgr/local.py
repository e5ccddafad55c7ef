"""The in-process tier: a bounded LRU per tenant, in front of the shared tier.

Bounded by entries and bytes overall and per tenant (the tenant's quota). Eviction is
tenant-aware: when the process-wide bound is hit, the tenant using the most bytes loses
its least recently used entry, so one busy tenant cannot push every other tenant's hot
keys out. Every entry also has a deadline (its TTL, capped by the local max age, which
bounds how long a missed invalidation can leave a stale copy here).

Hand-written because no library offers per-tenant LRUs under a shared bound
(cachetools' LRUCache has one bound and no grouping); the hot path is a dict lookup,
a `move_to_end` and a monotonic clock read.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

MISSING = object()


@dataclass(slots=True)
class Entry:
    value: object
    size: int
    deadline: float  # monotonic seconds: gone after this
    soft_deadline: float  # XFetch: a caller may refresh early near this
    delta: float  # seconds the value took to compute (XFetch's weight)
    gens: tuple  # the (tenant, namespace) generations it was stored under
    prefetched: bool = False


class TenantLRU:
    __slots__ = ("entries", "bytes")

    def __init__(self):
        self.entries: OrderedDict = OrderedDict()
        self.bytes = 0


class LocalTier:
    def __init__(self, *, max_entries: int, max_bytes: int, quota_keys, quota_bytes):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._quota_keys = quota_keys  # callable(tenant_id) -> int
        self._quota_bytes = quota_bytes  # callable(tenant_id) -> int
        self._tenants: dict[int, TenantLRU] = {}
        self._entries = 0
        self._bytes = 0
        self._lock = threading.Lock()
        self.evictions: dict[int, int] = {}

    # -- reads ---------------------------------------------------------------------------
    def get(self, tenant_id: int, key, now: float | None = None):
        """The entry (not the value: callers look at XFetch fields) or None."""
        lru = self._tenants.get(tenant_id)
        if lru is None:
            return None
        entry = lru.entries.get(key)
        if entry is None:
            return None
        if (time.monotonic() if now is None else now) >= entry.deadline:
            self.discard(tenant_id, key)
            return None
        # Without the lock (the hot path): a writer may remove the key between the two
        # calls, and then there is nothing to mark as recently used.
        try:
            lru.entries.move_to_end(key)
        except KeyError:
            return None
        return entry

    # -- writes --------------------------------------------------------------------------
    def put(self, tenant_id: int, key, entry: Entry) -> None:
        quota_keys = self._quota_keys(tenant_id)
        quota_bytes = self._quota_bytes(tenant_id)
        if entry.size > min(quota_bytes, self.max_bytes):
            return  # larger than what this tenant may hold: the shared tier keeps it
        with self._lock:
            lru = self._tenants.get(tenant_id)
            if lru is None:
                lru = self._tenants[tenant_id] = TenantLRU()
            if key in lru.entries:
                self._remove(tenant_id, lru, key)
            lru.entries[key] = entry
            lru.bytes += entry.size
            self._entries += 1
            self._bytes += entry.size
            while len(lru.entries) > quota_keys or lru.bytes > quota_bytes:
                self._evict_one(tenant_id, lru)
            while self._entries > self.max_entries or self._bytes > self.max_bytes:
                victim = max(
                    (t for t in self._tenants if self._tenants[t].entries),
                    key=lambda t: self._tenants[t].bytes,
                )
                self._evict_one(victim, self._tenants[victim])

    def discard(self, tenant_id: int, key) -> None:
        lru = self._tenants.get(tenant_id)
        if lru is None:
            return
        with self._lock:
            if key in lru.entries:
                self._remove(tenant_id, lru, key)

    def drop_where(self, tenant_id: int, predicate) -> int:
        """Drop the tenant's entries whose key matches (a namespace), or all of them."""
        lru = self._tenants.get(tenant_id)
        if lru is None:
            return 0
        with self._lock:
            doomed = [k for k in lru.entries if predicate is None or predicate(k)]
            for key in doomed:
                self._remove(tenant_id, lru, key)
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._entries = self._bytes = 0
            self.evictions.clear()

    # -- accounting ----------------------------------------------------------------------
    def usage(self, tenant_id: int) -> tuple[int, int]:
        lru = self._tenants.get(tenant_id)
        return (0, 0) if lru is None else (len(lru.entries), lru.bytes)

    def totals(self) -> tuple[int, int]:
        return self._entries, self._bytes

    def _evict_one(self, tenant_id: int, lru: TenantLRU) -> None:
        key = next(iter(lru.entries))
        self._remove(tenant_id, lru, key)
        self.evictions[tenant_id] = self.evictions.get(tenant_id, 0) + 1

    def _remove(self, tenant_id: int, lru: TenantLRU, key) -> None:
        entry = lru.entries.pop(key)
        lru.bytes -= entry.size
        self._entries -= 1
        self._bytes -= entry.size
