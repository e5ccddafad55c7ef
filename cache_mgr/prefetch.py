"""Prefetching (the seed's "ML-powered prefetching"), as a first-order co-access model.

Per tenant we learn which key tends to be read right after which (within
`WINDOW_SECONDS`, in the same thread): counts of transitions a -> b, bounded per source
key and per tenant. When `a` has to be fetched from the shared tier, the successors of
`a` seen at least `MIN_SUPPORT` times and in at least `MIN_CONFIDENCE` of a's
transitions ride along in the same MGET into the in-process tier. A prefetched entry that
is then read counts as a prefetch hit: the gain in the in-process hit ratio is
`prefetch_hits / reads`, shown in the console and measured by the bench on a recorded
trace. `CACHE_PREFETCH_ENABLED=false` switches it off.

A Markov model rather than a neural one on purpose: it learns online in O(1) per read,
needs no training job, and its decisions can be explained (the counts are shown).
"""

from __future__ import annotations

import threading
import time

WINDOW_SECONDS = 1.0
MIN_SUPPORT = 3
MIN_CONFIDENCE = 0.3
MAX_SUCCESSORS = 8
MAX_SOURCES = 10_000
MAX_PREDICTIONS = 4

_last = threading.local()


class CoAccess:
    def __init__(self):
        # tenant id -> {source: {successor: count}}
        self._tenants: dict[int, dict] = {}
        self._lock = threading.Lock()

    def observe(self, tenant_id: int, item, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        previous = getattr(_last, "read", None)
        _last.read = (tenant_id, item, now)
        if previous is None or previous[0] != tenant_id or previous[1] == item:
            return
        if now - previous[2] > WINDOW_SECONDS:
            return
        # No lock on the counting itself (every read passes here): two threads racing on
        # one count may lose an increment, which a heuristic can afford.
        sources = self._tenants.get(tenant_id)
        if sources is None:
            sources = self._tenants.setdefault(tenant_id, {})
        successors = sources.get(previous[1])
        if successors is None:
            if len(sources) >= MAX_SOURCES:
                sources.clear()  # start over rather than grow without bound
            successors = sources.setdefault(previous[1], {})
        successors[item] = successors.get(item, 0) + 1
        if len(successors) > 2 * MAX_SUCCESSORS:
            with self._lock:
                keep = sorted(successors.items(), key=lambda kv: -kv[1])[:MAX_SUCCESSORS]
                sources[previous[1]] = dict(keep)

    def predict(self, tenant_id: int, item) -> list:
        successors = self._tenants.get(tenant_id, {}).get(item)
        if not successors:
            return []
        with self._lock:
            snapshot = list(successors.items())
        total = sum(n for _item, n in snapshot)
        ranked = sorted(snapshot, key=lambda kv: -kv[1])
        return [
            other
            for other, n in ranked[:MAX_PREDICTIONS]
            if n >= MIN_SUPPORT and n / total >= MIN_CONFIDENCE
        ]

    def explain(self, tenant_id: int, limit: int = 20) -> list[dict]:
        """The strongest learned transitions of a tenant (console)."""
        rows = []
        with self._lock:
            for source, successors in list(self._tenants.get(tenant_id, {}).items()):
                total = sum(successors.values())
                for other, n in list(successors.items()):
                    rows.append(
                        {"after": source, "reads": other, "count": n, "confidence": n / total}
                    )
        rows.sort(key=lambda r: (-r["count"], str(r["after"])))
        return rows[:limit]

    def clear(self) -> None:
        with self._lock:
            self._tenants.clear()
        forget_thread()


def forget_thread() -> None:
    """This thread's last read (tests: ids repeat, a stale one would teach a transition)."""
    _last.__dict__.clear()
