"""Redis clients for a single server or a Redis Cluster (`REDIS_CLUSTER_ENABLED`).

Everything that talks to Redis (the shared cache through django-redis, cache_mgr's raw
client, the pub/sub listeners and publishers, the session fast path) gets its client
here, so one setting moves all of them to a cluster. `REDIS_URL` then names any node of
the cluster; redis-py's `RedisCluster` discovers the others and follows MOVED/ASK.

What changes on a cluster, and how each user copes (docs/cache.md, "Redis Cluster"):
- multi-key commands must stay in one hash slot: cache_mgr puts `{t<tenant>}` in its
  keys, so a tenant's keys share a slot; Django's `get_many` / `delete_many` go through
  `ClusterClient`, which splits them per slot;
- PUBLISH reaches subscribers on every node (the cluster bus broadcasts it);
- the threat counters' one-script fast path needs its keys in one slot and is off (the
  per-key path is used instead, see security_mgr/throttle_store.py);
- a cluster has only database 0, and Celery's Redis transport cannot use a cluster:
  the broker must be set on its own (CELERY_BROKER_URL, e.g. RabbitMQ).

Written by hand because django-redis does not support Redis Cluster (jazzband/django-redis
#208, #606): its pluggable connection factory and client class are the documented way.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django_redis.client import DefaultClient
from django_redis.client.default import _main_exceptions
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory


def cluster_enabled() -> bool:
    return bool(getattr(settings, "REDIS_CLUSTER_ENABLED", False))


def new_client(url: str, *, cluster: bool | None = None, timeout: float = 1.0):
    """A new redis-py client for `url`: a `RedisCluster` when the cluster is enabled."""
    import redis

    if cluster_enabled() if cluster is None else cluster:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


class ClusterConnectionFactory(ConnectionFactory):
    """django-redis's factory for a cluster: `RedisCluster` keeps a pool per node itself,
    so there is one client per URL and process instead of a pool per URL."""

    _clusters: dict[str, Any] = {}
    _lock = threading.Lock()

    def connect(self, url: str):
        client = self._clusters.get(url)
        if client is None:
            with self._lock:
                client = self._clusters.get(url)
                if client is None:
                    timeout = self.options.get("SOCKET_TIMEOUT") or 1.0
                    client = self._clusters[url] = new_client(url, cluster=True, timeout=timeout)
        return client

    def disconnect(self, connection) -> None:
        connection.disconnect_connection_pools()


class ClusterClient(DefaultClient):
    """django-redis's client with the multi-key calls a cluster refuses across slots
    (CROSSSLOT) split per slot by redis-py's non-atomic variants."""

    def get_many(self, keys, version=None, client=None):
        if not keys:
            return {}
        client = client or self.get_client(write=False)
        made = {self.make_key(key, version=version): key for key in keys}
        try:
            values = client.mget_nonatomic(list(made))
        except _main_exceptions as exc:  # django-redis's own mapping of outages
            raise ConnectionInterrupted(connection=client) from exc
        return {made[k]: self.decode(v) for k, v in zip(made, values, strict=True) if v is not None}

    def delete_many(self, keys, version=None, client=None):
        if not keys:
            return 0
        client = client or self.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.delete(self.make_key(key, version=version))
        try:
            return sum(pipe.execute())
        except _main_exceptions as exc:
            raise ConnectionInterrupted(connection=client) from exc

    def clear(self, client=None) -> None:
        client = client or self.get_client(write=True)
        try:
            client.flushdb(target_nodes=client.PRIMARIES)
        except _main_exceptions as exc:
            raise ConnectionInterrupted(connection=client) from exc
