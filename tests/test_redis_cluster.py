"""Everything that uses Redis, against a real three-node Redis Cluster started here
(`redis-server --cluster-enabled yes`, slots split by `redis-cli --cluster create`):
the shared cache through django-redis, the tenant cache (cache_mgr) with its pub/sub
coherence, session revocation reaching another process, membership drops, and the
threat counters. REDIS_CLUSTER_ENABLED selects the cluster clients (tenancy/redis_conn.py).
"""

import json
import os
import subprocess
import sys

import pytest
from django.core.cache import cache

from cache_mgr import api, shared, tiers
from cache_mgr.actions import do_invalidate_namespace, do_invalidate_tenant
from config.settings import redis_cache
from security_mgr.threats import analyze_threat, login_allowed
from sessions_mgr import fastpath
from sessions_mgr.actions import do_create_session, do_revoke_session
from tenancy import membership_cache
from tenancy.context import tenant_context
from tenancy.pubsub import configured_client
from tenancy.resolution import memberships_of
from tests.markers import redis_only, require_program
from tests.outages import ROOT, PrivateRedisCluster, wait_until

pytestmark = [
    pytest.mark.django_db,
    redis_only("a Redis deployment grown into a cluster (runs in the Redis pass of `make test`)"),
]

LISTENERS = {
    "cache_mgr": tiers.listener,
    "memberships": membership_cache.listener,
    "sessions": fastpath._listener,
}


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory):
    for program in ("redis-server", "redis-cli"):
        require_program(program, "a Redis Cluster of the test's own", "apt-get install redis")
    cluster = PrivateRedisCluster(tmp_path_factory.mktemp("redis-cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def on_cluster(redis_cluster, settings):
    """This process's Redis users switched to the cluster; the listeners reconnect to it,
    and afterwards go back to the single server they served before."""
    running = {name for name, listener in LISTENERS.items() if listener.running}
    for listener in LISTENERS.values():
        listener.stop()
    settings.REDIS_URL = redis_cluster.url
    settings.REDIS_CLUSTER_ENABLED = True
    settings.CACHES = {"default": redis_cache(redis_cluster.url, cluster=True)}
    tiers.reset()
    yield redis_cluster
    for listener in LISTENERS.values():
        listener.stop()
    tiers.reset()
    for name in running:
        LISTENERS[name].start()


def _env_on(cluster) -> dict:
    from django.conf import settings

    return {
        **os.environ,
        # The channels this process subscribed to were named at import, after the
        # database number of the REDIS_URL it started with; the cluster has none.
        "REDIS_CHANNEL_NAMESPACE": settings.REDIS_CHANNEL_NAMESPACE,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "REDIS_URL": cluster.url,
        "REDIS_CLUSTER_ENABLED": "1",
        "CELERY_BROKER_URL": "memory://",
    }


def test_cluster_clients_are_cluster_clients(on_cluster):
    client = configured_client()
    assert type(client).__name__ == "RedisCluster"
    assert len(client.get_primaries()) == 3
    assert type(cache.client.get_client(write=True)).__name__ == "RedisCluster"


def test_cluster_django_cache_multi_key_calls_span_slots(on_cluster, tenant_alpha):
    values = {f"key-{i}": i for i in range(40)}
    with tenant_context(tenant_alpha):
        client = cache.client.get_client(write=True)
        nodes = {client.get_node_from_key(cache.make_key(k)).name for k in values}
        assert len(nodes) == 3  # the keys really live on every node
        cache.set_many(values, 60)
        assert cache.get_many(list(values)) == values
        assert cache.incr("key-1") == 2
        cache.delete_many(["key-0", "key-1", "key-2"])
        assert cache.get_many(["key-0", "key-1", "key-2", "key-3"]) == {"key-3": 3}
        cache.clear()
        assert cache.get_many(list(values)) == {}


def test_cluster_settings_refuse_a_redis_broker(on_cluster):
    env = _env_on(on_cluster)
    env.pop("CELERY_BROKER_URL")
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    assert "CELERY_BROKER_URL" in done.stderr and "Redis Cluster" in done.stderr


def test_cluster_tenant_cache_namespaces_and_tenants_invalidate_apart(
    on_cluster, tenant_alpha, tenant_beta
):
    with tenant_context(tenant_alpha):
        api.set("report", "alpha-meta", 60, namespace="metadata")
        api.set("token", "alpha-sess", 60, namespace="sessions")
    with tenant_context(tenant_beta):
        api.set("report", "beta-meta", 60, namespace="metadata")
    tiers.reset()  # read from the cluster, not from this process's copy
    with tenant_context(tenant_alpha):
        assert api.get("report", namespace="metadata") == "alpha-meta"
        do_invalidate_namespace("metadata")
        assert api.get("report", namespace="metadata") is None
        assert api.get("token", namespace="sessions") == "alpha-sess"
        do_invalidate_tenant()
        assert api.get("token", namespace="sessions") is None
    with tenant_context(tenant_beta):
        assert api.get("report", namespace="metadata") == "beta-meta"


def test_cluster_tenant_cache_key_quota_evicts_in_redis(on_cluster, tenant_alpha, settings):
    settings.CACHE_TENANT_QUOTA_KEYS = 3
    with tenant_context(tenant_alpha):
        for i in range(6):
            assert api.set(f"k{i}", i, 60 + i)
    client = configured_client()
    assert client.zcard(shared.index_key(tenant_alpha.pk)) == 3
    tiers.reset()
    with tenant_context(tenant_alpha):
        found = [api.get(f"k{i}") for i in range(6)]
    assert found == [None, None, None, 3, 4, 5]  # the soonest-expiring went first


OTHER_PROCESS = """
import django, sys
django.setup()
from cache_mgr import api
from tenancy.context import TenantRef, tenant_context
with tenant_context(TenantRef.for_id(int(sys.argv[1]))):
    assert api.set("report", sys.argv[2], 60, namespace="metadata")
"""


def test_cluster_another_process_write_drops_our_copy(on_cluster, tenant_alpha, settings):
    settings.CACHE_LOCAL_MAX_AGE = 600  # only the pub/sub message can drop the copy
    settings.CACHE_GENERATION_CHECK_SECONDS = 600
    tiers.listener.start()
    wait_until(lambda: tiers.listener.healthy, "the cache_mgr listener subscribes")
    with tenant_context(tenant_alpha):
        api.set("report", "v1", 60, namespace="metadata")
        assert api.get("report", namespace="metadata") == "v1"
        subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS, str(tenant_alpha.pk), "v2"],
            cwd=ROOT, env=_env_on(on_cluster), check=True, timeout=120,
        )  # fmt: skip
        wait_until(
            lambda: api.get("report", namespace="metadata") == "v2",
            "the other process's write reaches this process through the cluster",
        )


def test_cluster_session_revocation_is_refused_in_another_process(
    on_cluster, alpha_owner, tenant_alpha
):
    session, token = do_create_session(tenant_id=tenant_alpha.pk, user_id=alpha_owner.pk)
    peer = subprocess.Popen(
        [sys.executable, "-m", "sessions_mgr.tests.peer_process"],
        cwd=ROOT, env=_env_on(on_cluster),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        peer.stdin.write(json.dumps({"token": token, "user_id": alpha_owner.pk}) + "\n")
        peer.stdin.flush()
        assert peer.stdout.readline().strip() == "ready"
        with tenant_context(tenant_alpha):
            do_revoke_session(session.pk)
        line = peer.stdout.readline().strip()
        assert line.startswith("refused revoked"), line
        assert peer.wait(timeout=10) == 0
    finally:
        if peer.poll() is None:
            peer.kill()


def test_cluster_membership_drop_reaches_the_listener(on_cluster, alpha_owner, tenant_alpha):
    membership_cache.listener.start()
    wait_until(lambda: membership_cache.listener.healthy, "the membership listener subscribes")
    memberships_of(alpha_owner)
    assert membership_cache._local.get(alpha_owner.pk) is not None
    assert membership_cache._publish([alpha_owner.pk])
    wait_until(
        lambda: membership_cache._local.get(alpha_owner.pk) is None,
        "the drop published on the cluster reaches this process",
    )


def test_cluster_threat_counters_back_off_per_user_and_source(on_cluster, tenant_alpha):
    with tenant_context(tenant_alpha):
        for _ in range(5):
            assert analyze_threat("login", username="al", ip="10.0.0.1", success=False).allowed
        delays = [
            analyze_threat("login", username="al", ip="10.0.0.1", success=False).retry_after
            for _ in range(3)
        ]
        assert delays == [1.0, 2.0, 4.0]
        assert not login_allowed("al", "10.0.0.1").allowed
        assert login_allowed("al", "10.0.0.2").allowed
