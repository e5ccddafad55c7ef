"""The default cache's backends, counting hits and misses of `get` and `get_many`
(`settings.CACHES` names these classes). A subclass, not a wrapper around a live
cache: one comparison and an addition per read, no proxy in front of every other
method. Counts go to the current request (the middleware records them per view) or,
outside requests, straight to Prometheus."""

from __future__ import annotations

from contextvars import ContextVar

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache

from perf_mgr import collectors

_MISSING = object()
# Inside get_many: Django's default get_many() calls get() per key; count once.
_in_many: ContextVar[bool] = ContextVar("dim_cache_in_many", default=False)


class _CountingReads:
    def get(self, key, default=None, version=None, **kwargs):
        value = super().get(key, _MISSING, version, **kwargs)
        if _in_many.get():
            return default if value is _MISSING else value
        if value is _MISSING:
            collectors.count_cache(0, 1)
            return default
        collectors.count_cache(1, 0)
        return value

    def get_many(self, keys, version=None, **kwargs):
        keys = list(keys)
        token = _in_many.set(True)
        try:
            found = super().get_many(keys, version, **kwargs)
        finally:
            _in_many.reset(token)
        collectors.count_cache(len(found), len(keys) - len(found))
        return found


class InstrumentedLocMemCache(_CountingReads, LocMemCache):
    pass


class InstrumentedRedisCache(_CountingReads, RedisCache):
    pass
