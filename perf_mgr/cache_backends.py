"""The default cache's backends, counting hits and misses of `get` and `get_many`
(`settings.CACHES` names these classes). A subclass, not a wrapper around a live
cache: one comparison and an addition per read, no proxy in front of every other
method. Counts go to the current request (the middleware records them per view) or,
outside requests, straight to Prometheus."""

from __future__ import annotations

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache

from perf_mgr import collectors

_MISSING = object()


class _CountingReads:
    def get(self, key, default=None, version=None, **kwargs):
        value = super().get(key, _MISSING, version, **kwargs)
        if value is _MISSING:
            collectors.count_cache(0, 1)
            return default
        collectors.count_cache(1, 0)
        return value

    def get_many(self, keys, version=None, **kwargs):
        keys = list(keys)
        found = super().get_many(keys, version, **kwargs)
        collectors.count_cache(len(found), len(keys) - len(found))
        return found


class InstrumentedLocMemCache(_CountingReads, LocMemCache):
    pass


class InstrumentedRedisCache(_CountingReads, RedisCache):
    pass
