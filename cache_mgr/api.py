"""The tenant cache: `get`, `set`, `delete`, `get_or_set`, and O(1) invalidation of a
namespace or of a whole tenant.

Every call needs a tenant in context and fails closed without one
(`TenantContextMissing`): there is no key a caller can build that reaches another
tenant's entries, because the tenant id comes from the context, never from the caller.

Values read from the in-process tier are the very objects stored there (that is what
makes a hit cost a microsecond): treat cached values as immutable, as Django's own
`cache_page` does with responses.

`get_or_set` protects the loader against stampedes twice: one caller per key and process
computes (the others wait on its lock), one per key across processes (a short Redis lock;
the others poll for the value), and the value is refreshed early, with probability
growing as its expiry nears (XFetch: Vattani et al., "Optimal Probabilistic Cache
Stampede Prevention", VLDB 2015), so a hot key is recomputed by one caller before it
expires instead of by all of them after.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time

from cache_mgr import codec, config, shared, tiers
from cache_mgr.local import Entry
from tenancy.context import TenantRef, current_var, require_tenant_id

DEFAULT_NAMESPACE = "default"
NAMESPACE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MAX_KEY_LENGTH = 250
MAX_TIMEOUT = config.MAX_TIMEOUT


class CacheUsageError(ValueError):
    """A call the cache cannot honour (a bad namespace, key or timeout); says the fix."""


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not NAMESPACE.fullmatch(namespace):
        raise CacheUsageError(
            f"namespace {namespace!r}: use 1-32 of a-z, 0-9, '_' or '-', starting with a letter"
        )
    return namespace


def _check_key(key) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise CacheUsageError(f"cache keys are non-empty strings of at most {MAX_KEY_LENGTH}")
    return key


def _check_timeout(timeout) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise CacheUsageError("timeout is a number of seconds")
    if not (0 < timeout <= MAX_TIMEOUT) or not math.isfinite(timeout):
        raise CacheUsageError(f"timeout must be in (0, {MAX_TIMEOUT}] seconds")
    return float(timeout)


def _tenant_id() -> int:
    state = current_var.get()
    if type(state) is TenantRef:
        return state.id
    return require_tenant_id("the tenant cache")  # raises, naming the fix


def _generations(st: tiers.State, tenant_id: int, namespace: str, now: float):
    known = st.generations.get((tenant_id, namespace))
    if known is not None and now - known[1] < config.get().generation_check:
        return known[0]
    check_namespace(namespace)  # the cold path: a namespace never seen is checked once
    found = st.shared.generations(tenant_id, namespace)
    if found is None:  # Redis failed: keep what we knew, try again next call
        return known[0] if known is not None else (0, 0)
    st.generations[(tenant_id, namespace)] = (found, now)
    return found


def _early(entry_deadline: float, delta: float, now: float) -> bool:
    """XFetch: refresh early with probability rising as the deadline nears."""
    if delta <= 0:
        return False
    beta = config.get().xfetch_beta
    return now - delta * beta * math.log(random.random() or 1e-12) >= entry_deadline  # noqa: S311


def _maybe_flush(st: tiers.State, now: float) -> None:
    if now >= st.next_flush:
        st.flush_stats()


# -- reads ---------------------------------------------------------------------------------


def _local_hit(st, tenant_id, namespace, key, gens, now):
    entry = st.local.get(tenant_id, (namespace, key), now)
    if entry is None or entry.gens != gens:
        return None
    _count_hit(st, tenant_id, namespace, entry)
    return entry


def _remember(
    st, tenant_id, namespace, key, gens, value, size, wall_deadline, delta, now, *, prefetched=False
):
    if not tiers.local_tier_usable():
        return
    ttl_left = wall_deadline - time.time()
    if ttl_left <= 0:
        return
    lifetime = min(ttl_left, config.get().local_max_age)
    st.local.put(
        tenant_id,
        (namespace, key),
        Entry(value, size, now + lifetime, now + ttl_left, delta, gens, prefetched),
    )


def _fetch(st, tenant_id, namespace, key, gens, now):
    """(found, value, wall deadline, delta) from the shared tier, prefetching along;
    found is None when the shared tier failed."""
    predicted = []
    if config.get().prefetch and tiers.local_tier_usable():
        predicted = [
            p
            for p in st.coaccess.predict(tenant_id, (namespace, key))
            if p[0] == namespace and st.local.get(tenant_id, p, now) is None
        ]
    keys = [shared.shared_key(tenant_id, gens, namespace, key)]
    keys += [shared.shared_key(tenant_id, gens, namespace, p[1]) for p in predicted]
    blobs = st.shared.mget(keys)
    if blobs is None:
        st.count(tenant_id, namespace, "degraded")
        return None, None, 0.0, 0.0
    for item, blob in zip(predicted, blobs[1:], strict=True):
        if blob is not None:
            try:
                value, deadline, delta = codec.loads(blob)
            except codec.TamperedValue:
                continue
            _remember(
                st,
                tenant_id,
                namespace,
                item[1],
                gens,
                value,
                len(blob),
                deadline,
                delta,
                now,
                prefetched=True,
            )
            st.count(tenant_id, namespace, "prefetched")
    blob = blobs[0]
    if blob is None:
        return False, None, 0.0, 0.0
    try:
        value, deadline, delta = codec.loads(blob)
    except codec.TamperedValue:
        st.count(tenant_id, namespace, "misses")
        return False, None, 0.0, 0.0
    _remember(st, tenant_id, namespace, key, gens, value, len(blob), deadline, delta, now)
    return True, value, deadline, delta


def get(key: str, default=None, *, namespace: str = DEFAULT_NAMESPACE):
    # The in-process hit is the hot path (bench row cache.local_hit, goal ≤ 2 µs): the
    # module state, settings and generations are read inline rather than through the
    # helpers the rest of the module uses.
    state = current_var.get()
    tenant_id = state.id if type(state) is TenantRef else _tenant_id()
    st = tiers._state or tiers.state()
    cfg = config._config or config.get()
    now = time.monotonic()
    known = st.generations.get((tenant_id, namespace))
    if known is not None and now - known[1] < cfg.generation_check:
        gens = known[0]
    else:
        gens = _generations(st, tenant_id, namespace, now)
    if cfg.local_tier and (
        not st.shared.has_pubsub or tiers.listener.healthy or tiers.local_tier_usable()
    ):
        item = (namespace, key)
        if cfg.prefetch:
            st.coaccess.observe(tenant_id, item, now)
        entry = st.local.get(tenant_id, item, now)
        if entry is not None and entry.gens == gens:
            row = st.counts.get((tenant_id, namespace))
            if row is not None and not entry.prefetched:
                row[0] += 1  # local_hits
            else:
                _count_hit(st, tenant_id, namespace, entry)
            if now >= st.next_flush:
                st.flush_stats()
            return entry.value
    _check_key(key)
    found, value, _deadline, _delta = _fetch(st, tenant_id, namespace, key, gens, now)
    if found:
        st.count(tenant_id, namespace, "shared_hits")
        _maybe_flush(st, now)
        return value
    st.count(tenant_id, namespace, "misses")
    _maybe_flush(st, now)
    return default


def _count_hit(st, tenant_id, namespace, entry) -> None:
    st.count(tenant_id, namespace, "local_hits")
    if entry.prefetched:
        entry.prefetched = False
        st.count(tenant_id, namespace, "prefetch_hits")


# -- writes --------------------------------------------------------------------------------


def set(
    key: str,
    value,
    timeout: float | None = None,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    _delta: float = 0.0,
) -> bool:  # noqa: A001  (the cache verb)
    """Store; False when the shared tier could not take it (then only this process has it,
    for at most CACHE_LOCAL_MAX_AGE). Without a timeout the entry lives the tenant's
    default TTL (the optimiser's applied value, else 300 s: config.default_ttl)."""
    tenant_id = _tenant_id()
    _check_key(key)
    check_namespace(namespace)
    ttl = _check_timeout(config.default_ttl(tenant_id) if timeout is None else timeout)
    st = tiers.state()
    now = time.monotonic()
    gens = _generations(st, tenant_id, namespace, now)
    wall_deadline = time.time() + ttl
    blob = codec.dumps((value, wall_deadline, _delta))
    victims = st.shared.set(
        tenant_id,
        shared.shared_key(tenant_id, gens, namespace, key),
        blob,
        ttl,
        quota_keys=config.tenant_quota(tenant_id, "keys"),
        message=tiers.message_key(tenant_id, namespace, key),
    )
    st.count(tenant_id, namespace, "sets")
    if victims:
        st.count(tenant_id, namespace, "quota_evictions", len(victims))
    _remember(st, tenant_id, namespace, key, gens, value, len(blob), wall_deadline, _delta, now)
    _maybe_flush(st, now)
    return victims is not None


def delete(key: str, *, namespace: str = DEFAULT_NAMESPACE) -> bool:
    tenant_id = _tenant_id()
    _check_key(key)
    check_namespace(namespace)
    st = tiers.state()
    now = time.monotonic()
    gens = _generations(st, tenant_id, namespace, now)
    st.local.discard(tenant_id, (namespace, key))
    st.count(tenant_id, namespace, "deletes")
    return st.shared.delete(
        tenant_id,
        shared.shared_key(tenant_id, gens, namespace, key),
        tiers.message_key(tenant_id, namespace, key),
    )


_flights: dict[tuple, threading.Lock] = {}
_flights_guard = threading.Lock()


def _flight_lock(item: tuple) -> threading.Lock:
    with _flights_guard:
        lock = _flights.get(item)
        if lock is None:
            if len(_flights) > 10_000:
                _flights.clear()  # locks are cheap to recreate; waiters hold theirs
            lock = _flights[item] = threading.Lock()
        return lock


def get_or_set(
    key: str, loader, timeout: float | None = None, *, namespace: str = DEFAULT_NAMESPACE
):
    """The cached value, or `loader()`'s, stored (for `timeout`, or the tenant's default
    TTL as `set`). With the shared tier down, `loader()` answers (the database path) and
    the fallback is counted as `degraded`."""
    tenant_id = _tenant_id()
    _check_key(key)
    check_namespace(namespace)
    timeout = _check_timeout(config.default_ttl(tenant_id) if timeout is None else timeout)
    st = tiers.state()
    now = time.monotonic()
    gens = _generations(st, tenant_id, namespace, now)
    if tiers.local_tier_usable():
        entry = _local_hit(st, tenant_id, namespace, key, gens, now)
        if entry is not None and not _early(entry.soft_deadline, entry.delta, now):
            return entry.value
    found, value, deadline, delta = _fetch(st, tenant_id, namespace, key, gens, now)
    if found and not _early(deadline, delta, time.time()):
        st.count(tenant_id, namespace, "shared_hits")
        return value
    if found is None:  # the shared tier is down: straight to the source
        st.count(tenant_id, namespace, "loads")
        return loader()
    if found:
        st.count(tenant_id, namespace, "early_refreshes")
    return _load_once(
        st,
        tenant_id,
        namespace,
        key,
        gens,
        loader,
        timeout,
        stale=value if found else None,
        have_stale=bool(found),
    )


def _load_once(st, tenant_id, namespace, key, gens, loader, timeout, *, stale, have_stale):
    lock_name = f"dim:cl:{{t{tenant_id}}}:{namespace}:{key}"
    with _flight_lock((tenant_id, namespace, key)):
        now = time.monotonic()
        entry = (
            st.local.get(tenant_id, (namespace, key), now) if tiers.local_tier_usable() else None
        )
        if entry is not None and entry.gens == gens and not have_stale:
            return entry.value  # another thread of this process loaded it meanwhile
        held = st.shared.lock(lock_name, config.get().lock_wait)
        if held is False:
            if have_stale:
                return stale  # someone else refreshes early; the current value is fine
            waited = _wait_for(st, tenant_id, namespace, key, gens)
            if waited[0]:
                return waited[1]
        try:
            started = time.monotonic()
            value = loader()
            st.count(tenant_id, namespace, "loads")
            set(key, value, timeout, namespace=namespace, _delta=time.monotonic() - started)
            return value
        finally:
            if held:
                st.shared.unlock(lock_name)


def _wait_for(st, tenant_id, namespace, key, gens):
    deadline = time.monotonic() + config.get().lock_wait
    pause = 0.005
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
        found, value, _d, _delta = _fetch(st, tenant_id, namespace, key, gens, time.monotonic())
        if found:
            st.count(tenant_id, namespace, "shared_hits")
            return True, value
        if found is None:
            return False, None
    return False, None  # the holder died or is slow: load it ourselves
