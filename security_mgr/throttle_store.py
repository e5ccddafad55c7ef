"""Where threat detection keeps its counters and blocks: the shared cache (Redis in
production), or, while that cache is unreachable, this process's memory.

Throttling must never turn an outage into a 500, and must not fail open either: with
Redis down every observation is counted in a process-local LocMemCache under the same
keys (the same per-tenant key function) and the same policy, so a flood is still slowed
down; the limits then hold per process rather than across the fleet. Entering that mode
logs `threat_throttling_degraded` (at most once a minute) and counts; the shared cache
is tried again every RETRY_SHARED_SECONDS. Counters kept locally are not copied back:
after an outage the shared counters simply start from what they held.

`run(fn, ...)` is the only way in: it runs `fn` against the shared cache and, on a cache
error, runs it again against the local one. Inside `fn`, `store()` is the cache to use
and `redis()` the raw client for the one-script fast path (None on the local store).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from tenancy import resettable

log = logging.getLogger("dim.security")

RETRY_SHARED_SECONDS = 5.0
LOG_INTERVAL_SECONDS = 60.0
LOCAL_MAX_ENTRIES = 100_000

_local_var: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "dim_threat_local_store", default=None
)
_local_cache = None
_local_lock = threading.Lock()


@dataclass
class Health:
    degraded_until: float = 0.0  # monotonic: use the local store until then
    shared_errors: int = 0  # shared-cache errors seen
    local_observations: int = 0  # observations answered from process memory
    last_error: str = ""
    logged_at: float = -LOG_INTERVAL_SECONDS

    def as_dict(self) -> dict:
        return {
            "mode": "local" if time.monotonic() < self.degraded_until else "shared",
            "shared_errors": self.shared_errors,
            "local_observations": self.local_observations,
            "last_error": self.last_error,
        }


health = Health()


def status() -> dict:
    """For health endpoints: `mode` ("shared" or "local") and the counters."""
    return health.as_dict()


@resettable.register
def reset() -> None:
    """Tests: back to the shared cache, counters and local state dropped."""
    global health
    health = Health()
    if _local_cache is not None:
        _local_cache.clear()


def _local():
    global _local_cache
    if _local_cache is None:
        with _local_lock:
            if _local_cache is None:
                from django.conf import settings
                from django.core.cache.backends.locmem import LocMemCache

                configured = settings.CACHES.get("default", {})
                _local_cache = LocMemCache(
                    "dim-threats-local",
                    {
                        # Same tenant namespacing as the shared cache.
                        "KEY_FUNCTION": configured.get("KEY_FUNCTION"),
                        "OPTIONS": {"MAX_ENTRIES": LOCAL_MAX_ENTRIES},
                    },
                )
    return _local_cache


def store():
    """The cache to use inside `run`."""
    local = _local_var.get()
    return cache if local is None else local


def redis():
    """The raw Redis client when the shared cache is django-redis and in use (one round
    trip per observation through a script), else None (one call per key)."""
    if _local_var.get() is not None or getattr(settings, "REDIS_CLUSTER_ENABLED", False):
        return None  # on a cluster the script's keys would span hash slots (CROSSSLOT)
    client = getattr(cache, "client", None)
    return client.get_client(write=True) if hasattr(client, "get_client") else None


def decode(value):
    """A raw value read through `redis()` as the cache would have returned it."""
    return cache.client.decode(value)


def _shared_errors() -> tuple[type[BaseException], ...]:
    """Outages, not bugs: a refused, lost or timed-out connection."""
    errors: list[type[BaseException]] = [OSError]
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        errors += [RedisConnectionError, RedisTimeoutError]
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    try:
        from django_redis.exceptions import ConnectionInterrupted

        errors.append(ConnectionInterrupted)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


def _process_health():
    """tenancy's record of this process's dependencies (what /health/ reports), when
    present: throttling's fallbacks are counted there too."""
    try:
        from tenancy import degraded
    except ImportError:  # pragma: no cover - an older tenancy without degraded modes
        return None
    return degraded


_errors: tuple[type[BaseException], ...] | None = None


def run(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` against the shared cache, or the local one while the shared
    cache is failing. Never raises a cache error."""
    global _errors
    if _errors is None:
        _errors = _shared_errors()
    if time.monotonic() >= health.degraded_until and _shared_usable():
        try:
            result = fn(*args, **kwargs)
        except _errors as exc:
            _note_failure(exc)
        else:
            if health.degraded_until:
                _note_recovery()
            return result
    return _run_locally(fn, *args, **kwargs)


def _note_recovery() -> None:
    health.degraded_until = 0.0
    shared = _process_health()
    if shared is not None:
        shared.redis.succeeded()
    log.warning(
        "threat_throttling_recovered",
        extra={"event": "threat_throttling_recovered", "shared_errors": health.shared_errors},
    )


def _shared_usable() -> bool:
    """False while tenancy already knows Redis failed a moment ago (another fallback saw
    it): do not spend a timeout finding out again."""
    shared = _process_health()
    return shared is None or shared.redis.usable()


def _run_locally(fn, *args, **kwargs):
    health.local_observations += 1
    shared = _process_health()
    if shared is not None:
        shared.count("redis.throttling")
    token = _local_var.set(_local())
    try:
        return fn(*args, **kwargs)
    finally:
        _local_var.reset(token)


def _note_failure(exc: BaseException) -> None:
    now = time.monotonic()
    health.shared_errors += 1
    health.degraded_until = now + RETRY_SHARED_SECONDS
    health.last_error = f"{type(exc).__name__}: {exc}"[:200]
    shared = _process_health()
    if shared is not None:
        shared.redis.failed("throttling", exc)
    if now - health.logged_at >= LOG_INTERVAL_SECONDS:
        health.logged_at = now
        log.warning(
            "threat_throttling_degraded",
            extra={
                "event": "threat_throttling_degraded",
                "detail": "shared cache unreachable: throttling counts in this process "
                "(fail-safe local limits) until it answers again",
                "error": health.last_error,
                "shared_errors": health.shared_errors,
                "local_observations": health.local_observations,
            },
        )
