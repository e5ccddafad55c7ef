"""Coherence across processes on Redis: another process's change reaches our in-process
copy through pub/sub, and when messages are lost a stale copy still never outlives the
bounds (the generation check, the local max age). Redis dying: the loader answers."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings

from cache_mgr import api, shared, tiers
from tenancy import degraded
from tenancy.context import tenant_context
from tests.markers import redis_only, require_program
from tests.outages import ROOT, PrivateRedis, wait_until

pytestmark = [pytest.mark.django_db, redis_only("pub/sub invalidation between processes")]

OTHER_PROCESS = """
import django, sys
django.setup()
from cache_mgr import api
from tenancy.context import TenantRef, tenant_context
tenant_id, key, value = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with tenant_context(TenantRef.for_id(tenant_id)):
    assert api.set(key, value, 60, namespace="metadata")
"""


def _other_process_sets(tenant_id: int, key: str, value: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "REDIS_URL": django_settings.REDIS_URL}  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(tenant_id), key, value],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip


def test_coherence_another_process_write_drops_our_copy(tenant_alpha, coherent, settings):
    settings.CACHE_LOCAL_MAX_AGE = 600  # only the message can drop the copy here
    settings.CACHE_GENERATION_CHECK_SECONDS = 600
    with tenant_context(tenant_alpha):
        api.set("report", "v1", 60, namespace="metadata")
        assert api.get("report", namespace="metadata") == "v1"
        assert tiers.state().local.usage(tenant_alpha.pk)[0] == 1
        _other_process_sets(tenant_alpha.pk, "report", "v2")
        wait_until(
            lambda: api.get("report", namespace="metadata") == "v2",
            "the other process's write reaches this process",
        )


def test_coherence_lost_generation_message_is_caught_by_the_check(tenant_alpha, coherent, settings):
    settings.CACHE_LOCAL_MAX_AGE = 600
    with tenant_context(tenant_alpha):
        api.set("k", "old", 60, namespace="metadata")
        assert api.get("k", namespace="metadata") == "old"
        st = tiers.state()
        # A bump whose message never arrived (published while we were away).
        st.shared.client.incr(shared.generation_key(tenant_alpha.pk, "metadata"))
        settings.CACHE_GENERATION_CHECK_SECONDS = 600
        assert api.get("k", namespace="metadata") == "old"  # within the bound: still served
        settings.CACHE_GENERATION_CHECK_SECONDS = 0.0  # the bound has passed
        assert api.get("k", namespace="metadata") is None


def test_coherence_lost_key_message_is_bounded_by_the_local_max_age(
    tenant_alpha, coherent, settings
):
    settings.CACHE_GENERATION_CHECK_SECONDS = 600
    settings.CACHE_LOCAL_MAX_AGE = 0.2
    with tenant_context(tenant_alpha):
        api.set("k", "old", 60)
        assert api.get("k") == "old"
        # Another writer's message is lost: pretend by unsubscribing nobody and writing
        # the new blob straight to Redis.
        from cache_mgr import codec

        st = tiers.state()
        gens = st.shared.generations(tenant_alpha.pk, "default")
        st.shared.client.set(
            shared.shared_key(tenant_alpha.pk, gens, "default", "k"),
            codec.dumps(("new", time.time() + 60, 0.0)),
        )
        time.sleep(0.3)  # past the local max age
        assert api.get("k") == "new"


def test_coherence_in_process_tier_is_unused_while_not_subscribed(tenant_alpha, coherent):
    with tenant_context(tenant_alpha):
        api.set("k", "v", 60)
        tiers.listener.stop()
        try:
            assert not tiers.local_tier_usable()
            assert api.get("k") == "v"  # from Redis
            stats = tiers.state().counts[(tenant_alpha.pk, "default")]
            assert stats[tiers.INDEX["shared_hits"]] == 1
        finally:
            tiers.listener.start()
            wait_until(lambda: tiers.listener.healthy, "the listener subscribes again")


@pytest.fixture
def private_redis(settings):
    require_program(
        "redis-server", "a Redis of the test's own, killed", "apt-get install redis-server"
    )
    server = PrivateRedis().start()
    tiers.listener.stop()
    settings.REDIS_URL = server.url
    tiers.reset()
    degraded.reset()
    yield server
    server.kill()
    tiers.listener.stop()
    tiers.reset()
    degraded.reset()


def test_coherence_redis_down_serves_from_the_loader_and_counts_it(tenant_alpha, private_redis):
    with tenant_context(tenant_alpha):
        assert api.get_or_set("k", lambda: "from db", 60) == "from db"
        private_redis.kill()
        # The listener hears its connection drop (a thread: an instant later); from then
        # on this process's copy of "k" is not trusted, as it hears no invalidations.
        wait_until(lambda: not tiers.listener.healthy, "the listener notices Redis is gone")
        assert api.get_or_set("k", lambda: "from db again", 60) == "from db again"
        assert api.get("other", "default") == "default"
        row = tiers.state().counts[(tenant_alpha.pk, "default")]
        assert row[tiers.INDEX["degraded"]] >= 1
        assert degraded.counters().get("redis.failures", 0) >= 1
        private_redis.start()
        degraded.redis._skip_until = 0.0  # the retry period has passed
        assert api.set("k", "back", 60) is True
        assert api.get("k") == "back"


def test_coherence_redis_quota_evicts_the_tenants_soonest_expiring_keys(
    tenant_alpha, tenant_beta, coherent, settings
):
    settings.CACHE_TENANT_QUOTA_KEYS = 3
    with tenant_context(tenant_beta):
        api.set("beta", "kept", 10)
    with tenant_context(tenant_alpha):
        for i, ttl in enumerate([50, 10, 40, 20, 60]):
            api.set(f"k{i}", i, ttl)
        tiers.state().local.clear()
        present = {f"k{i}" for i in range(5) if api.get(f"k{i}") is not None}
        assert present == {"k0", "k2", "k4"}  # the 10 s and 20 s keys went first
        row = tiers.state().counts[(tenant_alpha.pk, "default")]
        assert row[tiers.INDEX["quota_evictions"]] == 2
    with tenant_context(tenant_beta):
        assert api.get("beta") == "kept"
