"""Cache manager rows (issue 17): the in-process hit, the Redis path against raw
django-redis, invalidation seen by another process, and prefetching's hit-ratio gain on
an access trace."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings

from bench.harness import Goal, Outcome, Stats, compare, register
from cache_mgr import actions, api, tiers
from tenancy.context import TenantRef, tenant_context
from tenancy.models import Tenant
from tests.outages import wait_until

ROOT = Path(__file__).resolve().parent.parent
VALUE = {"id": 42, "name": "quarterly report", "rows": list(range(20))}


def _tenant() -> TenantRef:
    tenant, _ = Tenant.objects.get_or_create(slug="bench-cache", defaults={"name": "bench cache"})
    return TenantRef.of(tenant)


def _coherent() -> None:
    if settings.REDIS_URL:
        tiers.listener.start()
        wait_until(lambda: tiers.listener.healthy, "the cache_mgr listener subscribes")


@register(
    "cache.local_hit",
    title="Cache: in-process hit (tenant key, generations checked, LRU touched)",
    ours="`cache_mgr.api.get(key)` inside `tenant_context`, value in the in-process tier",
    peer="Django's LocMemCache `get(key)` (no tenant, unpickles a copy)",
    goal=Goal(2.0, "ours p95 µs"),
)
def local_hit_row(ctx):
    _coherent()
    ref = _tenant()
    peer_cache = LocMemCache("bench", {})
    peer_cache.set("k", VALUE, 600)
    n = ctx.iters(200_000, 20_000)
    with override_settings(CACHE_LOCAL_MAX_AGE=3600, CACHE_GENERATION_CHECK_SECONDS=3600):
        with tenant_context(ref):
            api.set("k", VALUE, 600)
            assert api.get("k") == VALUE
            ours, peer = compare(lambda: api.get("k"), lambda: peer_cache.get("k"), n, 1000)
            # Throughput on one core: a tight loop, no per-call clock.
            started = time.perf_counter()
            for _ in range(n):
                api.get("k")
            per_second = n / (time.perf_counter() - started)
    return Outcome(
        ours,
        peer,
        value=ours.p95_us,
        notes=(
            f"{per_second:,.0f} hits/s in a tight loop on one core (goal ≥ 500,000); "
            f"ratio ours/peer p50 {ours.p50_us / peer.p50_us:.2f}×, p95 "
            f"{ours.p95_us / peer.p95_us:.2f}× (per-call timing adds ~0.1 µs to both)",
        ),
    )


@register(
    "cache.redis_path",
    title="Cache: shared-tier (Redis) hit, in-process tier bypassed",
    ours="`cache_mgr.api.get(key)`: MGET, HMAC-SHA256 check, unpickle",
    peer="raw django-redis `cache.get(key)` (GET, unpickle, nothing verified)",
    goal=Goal(1.05, "p95 ratio ours/peer"),
)
def redis_path_row(ctx):
    if not settings.REDIS_URL:
        raise RuntimeError("needs REDIS_URL (make bench sets it when Redis answers)")
    ref = _tenant()
    peer_cache = caches["default"]
    n = ctx.iters(20_000, 2_000)
    with override_settings(CACHE_LOCAL_TIER_ENABLED=False), tenant_context(ref):
        api.set("k", VALUE, 600)
        peer_cache.set("k", VALUE, 600)
        assert api.get("k") == VALUE and peer_cache.get("k") == VALUE
        ours, peer = compare(lambda: api.get("k"), lambda: peer_cache.get("k"), n, 500)
    return Outcome(
        ours,
        peer,
        value=ours.p95_us / peer.p95_us,
        notes=(f"p50 ratio {ours.p50_us / peer.p50_us:.2f}×; both one round trip to Redis",),
    )


WATCHER = """
import sys, time, django
django.setup()
from cache_mgr import api, tiers
from tenancy.context import TenantRef, tenant_context
from tests.outages import wait_until
tiers.listener.start()
wait_until(lambda: tiers.listener.healthy, "subscribed")
tenant_id = int(sys.argv[1])
with tenant_context(TenantRef.for_id(tenant_id)):
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        assert api.get("watched", namespace="bench") is not None
        print("ready", flush=True)
        while api.get("watched", namespace="bench") is not None:
            time.sleep(0.0002)  # a server between requests, not a spinning loop
        print(repr(time.time()), flush=True)
"""


@register(
    "cache.invalidation",
    title="Cache: namespace invalidation seen by another process",
    ours="`do_invalidate_namespace` here; another process spinning on `api.get` sees it",
    peer="the goal (50 ms); pub/sub delivery, generation check every 1 s as the fallback",
    goal=Goal(50.0, "p95 ms"),
)
def invalidation_row(ctx):
    if not settings.REDIS_URL:
        raise RuntimeError("needs REDIS_URL")
    _coherent()
    ref = _tenant()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings",
           "CACHE_GENERATION_CHECK_SECONDS": "3600"}  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-c", WATCHER, str(ref.id)],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    delays_ms = []
    try:
        with tenant_context(ref):
            for _ in range(ctx.iters(50, 10)):
                api.set("watched", 1, 600, namespace="bench")
                child.stdin.write("go\n")
                child.stdin.flush()
                assert child.stdout.readline().strip() == "ready"
                time.sleep(0.02)
                sent = time.time()
                actions.do_invalidate_namespace("bench", actor="bench")
                seen = float(child.stdout.readline())
                delays_ms.append((seen - sent) * 1000)
        child.stdin.write("quit\n")
        child.stdin.flush()
    finally:
        child.wait(timeout=30)
    stats = Stats.from_ns([int(d * 1e6) for d in delays_ms])
    return Outcome(
        value=stats.p95_us / 1000,
        ours_text=f"p50 {stats.p50_us / 1000:.2f} ms, p95 {stats.p95_us / 1000:.2f} ms "
        f"over {len(delays_ms)} invalidations",
        peer_text="goal 50 ms",
    )


def _trace(rng: random.Random, length: int) -> list[str]:
    """Page views of a catalogue: an order is followed by its customer and its items
    (the pattern prefetching should learn), mixed with random lookups."""
    trace = []
    while len(trace) < length:
        if rng.random() < 0.7:
            order = rng.randrange(200)
            trace += [f"order:{order}", f"customer:{order % 50}", f"items:{order}"]
        else:
            trace.append(f"product:{rng.randrange(2000)}")
    return trace[:length]


def _replay(ref, trace, *, prefetch: bool) -> float:
    """In-process hit ratio over the trace, with copies living 50 ms (a short local max
    age makes the in-process tier miss often, as under invalidation churn)."""
    tiers.reset()
    _coherent()
    hits = 0
    with override_settings(
        CACHE_PREFETCH_ENABLED=prefetch, CACHE_LOCAL_MAX_AGE=0.05, CACHE_STATS_FLUSH_SECONDS=3600
    ):
        with tenant_context(ref):
            for key in set(trace):
                api.set(key, key, 600)
            tiers.state().local.clear()
            for i, key in enumerate(trace):
                before = tiers.state().counts.get((ref.id, "default"), [0])[0]
                api.get(key)
                hits += tiers.state().counts.get((ref.id, "default"), [0])[0] - before
                if i % 3 == 2:
                    time.sleep(0.0005)
    return hits / len(trace)


@register(
    "cache.prefetch",
    title="Cache: prefetching's in-process hit-ratio gain on an access trace",
    ours="co-access prefetching on (learned online while replaying)",
    peer="the same trace with CACHE_PREFETCH_ENABLED=false",
    goal=Goal(1.0, "miss ratio with / without prefetching"),
)
def prefetch_row(ctx):
    ref = _tenant()
    trace = _trace(random.Random(5), ctx.iters(20_000, 3_000))
    without = _replay(ref, trace, prefetch=False)
    with_prefetch = _replay(ref, trace, prefetch=True)
    return Outcome(
        value=(1 - with_prefetch) / (1 - without),
        ours_text=f"in-process hit ratio {with_prefetch:.1%}",
        peer_text=f"{without:.1%}",
        notes=(f"gain {(with_prefetch - without) * 100:+.1f} points over {len(trace):,} reads",),
    )
