"""Performance manager rows (issue 14): recording, durable ingest, analytics."""

from __future__ import annotations

import random
import time

from django.db import connection, transaction

from bench.harness import Goal, Outcome, Stats, compare, measure, register
from perf_mgr import recording, store, window_cache
from perf_mgr.actions import do_roll_up
from perf_mgr.analytics import get_analytics
from perf_mgr.models import HOUR_US, MetricRollup, MetricSample, MetricSeries, now_us
from tenancy.context import tenant_context
from tenancy.models import Tenant

VIEWS = [f"v1:view-{n:02d}" for n in range(20)]


def _tenant(slug: str) -> Tenant:
    tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": slug})
    return tenant


def _empty(tenant) -> None:
    with tenant_context(tenant), transaction.atomic():
        for model in (MetricSample, MetricRollup, MetricSeries):
            model.objects.all().delete()


# --- record_metric ----------------------------------------------------------------------


@register(
    "perf.record_metric",
    title="Record a metric from Python (in-process)",
    ours="`record_metric(name, value, {'view': ...})` in a tenant context: validation, "
    "canonical labels (memoised), append to the bounded per-process buffer",
    peer="prometheus-client `Histogram.observe()` on a label child bound beforehand",
    goal=Goal(2.0, "ours p50 µs per call"),
)
def record_metric_row(ctx):
    from django.conf import settings
    from prometheus_client import CollectorRegistry, Histogram

    tenant = _tenant("bench-perf-record")
    histogram = Histogram("bench_latency", "bench", ["view"], registry=CollectorRegistry())
    child = histogram.labels("v1:view-01")
    values = [random.random() for _ in range(1024)]
    state = {"i": 0}
    tags = {"view": "v1:view-01"}
    previous = settings.PERFORMANCE_BUFFER_MAX
    settings.PERFORMANCE_BUFFER_MAX = 50_000_000  # measure the append, not the drop path
    record = recording.record_metric

    def ours():
        state["i"] += 1
        record("bench_latency", values[state["i"] & 1023], tags)

    def peer():
        state["i"] += 1
        child.observe(values[state["i"] & 1023])

    try:
        with tenant_context(tenant):
            ours_s, peer_s = compare(ours, peer, ctx.iters(400_000, 40_000), warmup=2000)
    finally:
        buffered = recording.pending()
        recording.reset()
        settings.PERFORMANCE_BUFFER_MAX = previous
    return Outcome(
        ours_s,
        peer_s,
        value=ours_s.p50_us,
        notes=(
            f"ratio ours/peer at p50 {ours_s.p50_us / peer_s.p50_us:.2f}×, p95 "
            f"{ours_s.p95_us / peer_s.p95_us:.2f}×; {buffered:,} samples were buffered "
            "(dropped unwritten after the row: no database write on this path)",
        ),
    )


# --- durable ingest ---------------------------------------------------------------------

BATCH = 50_000


def _samples(n: int, start_us: int) -> list[tuple]:
    rng = random.Random(14)
    return [
        (
            "http_request_duration_seconds",
            (("method", "GET"), ("status", "2xx"), ("view", VIEWS[i % len(VIEWS)])),
            "system",
            rng.lognormvariate(-3, 1),
            start_us + i,
        )
        for i in range(n)
    ]


@register(
    "perf.ingest",
    title="Durable ingest into PostgreSQL, sustained",
    ours="`perf_mgr.store.write()` of 50,000-sample batches: series resolved from the process "
    "memo, binary `COPY` into the session's temporary stage, one RLS-checked "
    "`INSERT … SELECT` from it into the samples, the tenant's ingest lock, commit (COPY "
    "straight into the samples is refused by PostgreSQL on RLS tables)",
    peer="Django `bulk_create()` of the same rows (scoped manager, batch_size 2,000), commit",
    goal=Goal(5.0, "µs per sample (≤ 5 ⇔ ≥ 200,000 samples/s)"),
)
def ingest_row(ctx):
    tenant = _tenant("bench-perf-ingest")
    _empty(tenant)
    total = ctx.iters(500_000, 100_000)
    samples = _samples(BATCH, now_us() - HOUR_US)
    with tenant_context(tenant):
        store.write(samples[: len(VIEWS)])  # creates the series, fills the memo
        ids = dict(MetricSeries.objects.values_list("labels__view", "id"))
        rows = [(ids[s[1][2][1]], s[4], s[3]) for s in samples]
        started = time.perf_counter()
        for _ in range(total // BATCH):
            store.write(samples)
        ours_s = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(total // BATCH):
            with transaction.atomic():
                MetricSample.objects.bulk_create(
                    [MetricSample(series_id=s, at_us=t, value=v) for s, t, v in rows],
                    batch_size=2000,
                )
        peer_s = time.perf_counter() - started
        stored = MetricSample.objects.count()
    _empty(tenant)
    return Outcome(
        value=ours_s * 1e6 / total,
        ours_text=f"{total / ours_s:,.0f} samples/s over {total:,}",
        peer_text=f"{total / peer_s:,.0f} samples/s",
        notes=(
            f"ratio ours/peer throughput {peer_s / ours_s:.2f}×; {stored:,} rows stored by "
            "both sides; indexes: primary key (tenant_id, id), BRIN on at_us; no foreign key "
            'on the tenant (docs/performance.md, "Ingest")',
        ),
    )


# --- analytics --------------------------------------------------------------------------


def load_analytics_tenant(ctx) -> Tenant:
    """1M samples (100k quick) of one tenant spread over the last 24 hours: latency,
    queries and CPU of 20 views, as the collectors record them; rolled up."""
    tenant = _tenant("bench-perf-analytics")
    _empty(tenant)
    total = ctx.rows or ctx.iters(1_000_000, 100_000)
    end = now_us()
    span = 24 * HOUR_US
    rng = random.Random(7)
    with tenant_context(tenant):
        batch = []
        for i in range(total // 3):
            at = end - span + int(i * span / (total // 3))
            view = VIEWS[i % len(VIEWS)]
            status = "5xx" if rng.random() < 0.01 else "2xx"
            by_view = (("view", view),)
            batch += [
                (
                    "http_request_duration_seconds",
                    (("method", "GET"), ("status", status), ("view", view)),
                    "system",
                    rng.lognormvariate(-3 + (i % len(VIEWS)) / 10, 0.5),
                    at,
                ),
                ("http_request_db_queries", by_view, "system", float(rng.randint(1, 30)), at),
                ("http_request_cpu_seconds", by_view, "system", rng.random() / 50, at),
            ]
            if len(batch) >= BATCH:
                store.write(batch)
                batch = []
        store.write(batch)
        started = time.perf_counter()
        rolled = do_roll_up(max_passes=1000)
        ctx._memo["perf_rollup_s"] = time.perf_counter() - started
        ctx._memo["perf_rolled"] = rolled["samples"]
    return tenant


@register(
    "perf.analytics",
    title="get_analytics(hours=24) over 1M samples of one tenant",
    ours="`get_analytics(24)`: hourly roll-ups, decoded once per roll-up cursor and kept "
    "(perf_mgr/window_cache.py: one statement per call for the raw tail, the cursor and the "
    "series), packed sketches added up per group in numpy (perf_mgr/frame.py), p50/p95/p99 "
    "per metric, 4 named trends + one per metric with 95 % intervals, bottlenecks",
    peer="one SQL `percentile_cont(0.5/0.95/0.99)` per series over the same raw samples",
    goal=Goal(50.0, "ours p95 ms"),
)
def analytics_row(ctx):
    tenant = ctx.once(load_analytics_tenant)
    end = now_us()
    sql = (
        "SELECT series_id, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP "
        "(ORDER BY value) FROM perf_mgr_metricsample WHERE at_us >= %s GROUP BY series_id"
    )

    def peer():
        with connection.cursor() as cursor:
            cursor.execute(sql, [end - 24 * HOUR_US])
            cursor.fetchall()

    with tenant_context(tenant):
        result = get_analytics(24)  # the first call decodes the roll-ups (a cache miss)
        started = time.perf_counter()
        window_cache.clear()
        get_analytics(24)
        cold_ms = (time.perf_counter() - started) * 1000
        ours_s = measure(lambda: get_analytics(24), ctx.iters(60, 15), warmup=3)
        cache = window_cache.stats()
        peer_s = measure(peer, ctx.iters(5, 2), warmup=1)
        samples = MetricSample.objects.count()
    metric = result["metrics"]["http_request_duration_seconds"]
    return Outcome(
        ours_s,
        peer_s,
        value=ours_s.p95_us / 1000,
        notes=(
            f"{samples:,} samples in 60 series; roll-up of all of them took "
            f"{ctx._memo['perf_rollup_s']:.1f} s ({ctx._memo['perf_rolled']:,} samples); "
            f"requests p95 {metric['p95'] * 1000:.1f} ms over {metric['count']:,}; "
            f"ours p50 {ours_s.p50_us / 1000:.1f} ms, peer p50 {peer_s.p50_us / 1000:.0f} ms; "
            f"a cold call (window cache emptied) {cold_ms:.0f} ms; cache hits "
            f"{cache['hits']}, misses {cache['misses']} (the cursor moves only at a roll-up)",
        ),
    )


__all__ = ["Stats"]
