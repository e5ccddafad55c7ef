"""The shared tier: Redis when REDIS_URL is set, else Django's default cache.

Keys: `dim:c:{t<tenant>}:<tenant generation>:<namespace>:<namespace generation>:<key>`, so
bumping a generation (one INCR) makes every older key of that tenant or namespace
unreachable at once: O(1) invalidation, with the orphans left to their TTL.

On Redis, a write is one pipelined round trip: SET with its TTL, the tenant's key index
(a sorted set scored by expiry: expired members pruned, the soonest-expiring evicted
when the tenant is over its key quota) and the PUBLISH that tells other processes to
drop their in-process copy. Every call goes through `tenancy.degraded.shared_cache`: a
Redis failure answers "not cached" (the caller loads from the database) and is counted.
"""

from __future__ import annotations

import time

from django.core.cache import caches

from tenancy import degraded
from tenancy.context import no_tenant
from tenancy.pubsub import channel, configured_client

CHANNEL = channel("dim:cache_mgr:invalidate")
TENANT_WIDE = "*"


# `{t<id>}` is a Redis Cluster hash tag: all of a tenant's keys (values, generations, its
# quota index) live in one slot, so the multi-key reads and the eviction's DEL stay legal
# on a cluster. On a single server it is just part of the name.
def shared_key(tenant_id: int, gens: tuple[int, int], namespace: str, key: str) -> str:
    return f"dim:c:{{t{tenant_id}}}:{gens[0]}:{namespace}:{gens[1]}:{key}"


def generation_key(tenant_id: int, namespace: str) -> str:
    return f"dim:cg:{{t{tenant_id}}}:{namespace}"


def index_key(tenant_id: int) -> str:
    return f"dim:ci:{{t{tenant_id}}}"


class RedisShared:
    """Raw redis-py (bytes in, bytes out): our codec signs what Django's would pickle."""

    has_pubsub = True

    def __init__(self, client):
        self.client = client
        # redis-py refuses PUBLISH inside a cluster pipeline (it has no key to route by).
        self.cluster = type(client).__name__ == "RedisCluster"

    def _pipeline(self, build, message: str) -> list:
        """Run what `build(pipe)` queues, then PUBLISH `message`: in the same round trip on
        a single server, right after the pipeline on a cluster."""
        pipe = self.client.pipeline(transaction=False)
        build(pipe)
        if not self.cluster:
            pipe.publish(CHANNEL, message)
        results = pipe.execute()
        if self.cluster:
            self.client.publish(CHANNEL, message)
        return results

    def mget(self, keys: list[str]) -> list:
        return degraded.shared_cache("cache_mgr_get", lambda: self.client.mget(keys), None)

    def generations(self, tenant_id: int, namespace: str) -> tuple[int, int] | None:
        keys = [generation_key(tenant_id, TENANT_WIDE), generation_key(tenant_id, namespace)]
        found = degraded.shared_cache("cache_mgr_generations", lambda: self.client.mget(keys))
        if found is None:
            return None
        return int(found[0] or 0), int(found[1] or 0)

    def bump(self, tenant_id: int, namespace: str, message: str) -> int | None:
        def call():
            return self._pipeline(lambda p: p.incr(generation_key(tenant_id, namespace)), message)[
                0
            ]

        return degraded.shared_cache("cache_mgr_bump", call)

    def set(self, tenant_id, key, blob, ttl, *, quota_keys, message) -> list[str] | None:
        """Store; returns the tenant's keys evicted for its quota (None: Redis failed)."""
        now = time.time()
        index = index_key(tenant_id)

        def build(pipe):
            pipe.set(key, blob, ex=max(1, int(ttl)))
            pipe.zremrangebyscore(index, "-inf", now)
            pipe.zadd(index, {key: now + ttl})
            pipe.zcard(index)

        def call():
            count = self._pipeline(build, message)[3]
            if count <= quota_keys:
                return []
            popped = self.client.zpopmin(index, count - quota_keys)
            victims = [member.decode() for member, _score in popped]
            if victims:
                self.client.delete(*victims)
            return victims

        return degraded.shared_cache("cache_mgr_set", call)

    def delete(self, tenant_id: int, key: str, message: str) -> bool:
        def build(pipe):
            pipe.delete(key)
            pipe.zrem(index_key(tenant_id), key)

        def call():
            self._pipeline(build, message)
            return True

        return bool(degraded.shared_cache("cache_mgr_delete", call, False))

    def lock(self, name: str, seconds: float) -> bool | None:
        """Cross-process single flight: True if we hold it; None when Redis failed."""
        return degraded.shared_cache(
            "cache_mgr_lock",
            lambda: bool(self.client.set(name, b"1", nx=True, px=int(seconds * 1000))),
        )

    def unlock(self, name: str) -> None:
        degraded.shared_cache("cache_mgr_unlock", lambda: self.client.delete(name))

    def add_stats(self, rows: dict[str, dict[str, int]]) -> None:
        def call():
            pipe = self.client.pipeline(transaction=False)
            for hash_key, fields in rows.items():
                for field, n in fields.items():
                    pipe.hincrby(hash_key, field, n)
                pipe.expire(hash_key, 30 * 86400)
            pipe.execute()

        degraded.shared_cache("cache_mgr_stats", call)

    def read_stats(self, hash_key: str) -> dict[str, int]:
        found = degraded.shared_cache("cache_mgr_stats", lambda: self.client.hgetall(hash_key))
        return {k.decode(): int(v) for k, v in (found or {}).items()}


class DjangoShared:
    """The embedded default: Django's default cache (local memory) as the shared tier,
    outside any tenant context (our keys carry the tenant themselves). Quotas apply to
    the in-process tier only; there is no other process to tell."""

    has_pubsub = False

    def __init__(self, cache):
        self.cache = cache

    def mget(self, keys):
        with no_tenant():
            found = self.cache.get_many(keys)
        return [found.get(k) for k in keys]

    def generations(self, tenant_id, namespace):
        with no_tenant():
            found = self.cache.get_many(
                [generation_key(tenant_id, TENANT_WIDE), generation_key(tenant_id, namespace)]
            )
        return (
            int(found.get(generation_key(tenant_id, TENANT_WIDE), 0)),
            int(found.get(generation_key(tenant_id, namespace), 0)),
        )

    def bump(self, tenant_id, namespace, message):
        key = generation_key(tenant_id, namespace)
        with no_tenant():
            self.cache.add(key, 0, timeout=None)
            return self.cache.incr(key)

    def set(self, tenant_id, key, blob, ttl, *, quota_keys, message):
        with no_tenant():
            self.cache.set(key, blob, timeout=ttl)
        return []

    def delete(self, tenant_id, key, message):
        with no_tenant():
            self.cache.delete(key)
        return True

    def lock(self, name, seconds):
        with no_tenant():
            return self.cache.add(name, 1, timeout=seconds)

    def unlock(self, name):
        with no_tenant():
            self.cache.delete(name)

    def add_stats(self, rows):
        with no_tenant():
            for hash_key, fields in rows.items():
                current = self.cache.get(hash_key) or {}
                for field, n in fields.items():
                    current[field] = current.get(field, 0) + n
                self.cache.set(hash_key, current, timeout=30 * 86400)

    def read_stats(self, hash_key):
        with no_tenant():
            return dict(self.cache.get(hash_key) or {})


def backend():
    client = configured_client()
    if client is not None:
        return RedisShared(client)
    return DjangoShared(caches["default"])
