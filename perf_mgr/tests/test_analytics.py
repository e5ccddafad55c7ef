"""Analytics: percentiles, error rate, trends with their interval, and bottlenecks with
evidence, from stored samples."""

import math
import random

import pytest

from perf_mgr import query, trends
from perf_mgr.actions import do_roll_up
from perf_mgr.analytics import get_analytics, get_current_performance
from perf_mgr.models import HOUR_US, MINUTE_US, now_us
from perf_mgr.sketch import RELATIVE_ERROR
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
REQ = "http_request_duration_seconds"


def _requests(view, status, values, start, spacing=MINUTE_US):
    labels = {"view": view, "method": "GET", "status": status}
    return [(REQ, labels, v, start + i * spacing) for i, v in enumerate(values)]


def test_trend_interval_decides_the_direction():
    rising = trends.trend([0, 1, 2, 3, 4], [10, 12, 13.9, 16.1, 18])
    assert rising["direction"] == "rising" and rising["ci95"][0] > 0
    assert abs(rising["slope"] - 2.0) < 0.1
    noisy = trends.trend([0, 1, 2, 3, 4], [10, 14, 9, 13, 10])
    assert noisy["direction"] == "flat" and noisy["ci95"][0] < 0 < noisy["ci95"][1]
    assert trends.trend([0, 1], [1, 2])["direction"] == "unknown"


def test_analytics_percentiles_error_rate_and_bottlenecks(tenant_alpha, write_samples):
    now = now_us()
    start = now - now % HOUR_US - 2 * HOUR_US
    fast = [0.01 + 0.001 * i for i in range(40)]
    slow = [0.8 + 0.01 * i for i in range(40)]
    samples = (
        _requests("v1:fast", "2xx", fast, start)
        + _requests("v1:slow", "2xx", slow, start)
        + _requests("v1:slow", "5xx", [0.9] * 10, start)
        + [
            ("http_request_db_queries", {"view": "v1:slow"}, 45, start + i * MINUTE_US)
            for i in range(30)
        ]
        + [
            ("celery_task_queue_wait_seconds", {"task": "t.heavy"}, 12.0, start + i * MINUTE_US)
            for i in range(25)
        ]
    )
    write_samples(tenant_alpha, samples)
    with tenant_context(tenant_alpha):
        do_roll_up()
        result = get_analytics(hours=24)
    metric = result["metrics"][REQ]
    assert metric["count"] == 90
    assert metric["error_rate"] == pytest.approx(10 / 90)
    assert 0.8 <= metric["p95"] <= 1.2
    kinds = {(f["kind"], f["subject"]) for f in result["bottlenecks"]}
    assert ("slow_view", "v1:slow") in kinds
    assert ("many_queries", "v1:slow") in kinds
    assert ("saturated_queue", "t.heavy") in kinds
    assert ("failing_view", "v1:slow") in kinds
    assert not any(subject == "v1:fast" for _kind, subject in kinds)
    slow_finding = next(f for f in result["bottlenecks"] if f["kind"] == "slow_view")
    assert slow_finding["evidence"]["requests"] == 50 and slow_finding["suggestion"]
    assert result["slowest_views"][0]["view"] == "v1:slow"


def test_analytics_latency_trend_rises_with_the_data(tenant_alpha, write_samples):
    now = now_us()
    start = now - now % HOUR_US - 6 * HOUR_US
    samples = []
    for hour in range(6):
        samples += _requests(
            "v1:x", "2xx", [0.1 * (hour + 1)] * 20, start + hour * HOUR_US, spacing=10**6
        )
    write_samples(tenant_alpha, samples)
    with tenant_context(tenant_alpha):
        result = get_analytics(hours=12)
    latency = result["trends"]["latency_trend"]
    assert latency["direction"] == "rising" and latency["points"] == 6
    assert latency["slope"] == pytest.approx(0.1, rel=0.05)
    assert result["trends"][f"{REQ}_trend"]["direction"] == "rising"
    assert result["trends"]["throughput_trend"]["direction"] == "flat"


def test_current_performance_reads_the_last_minutes(tenant_alpha, write_samples):
    now = now_us()
    write_samples(
        tenant_alpha,
        [("queue_len", None, 5, now - 10 * MINUTE_US), ("queue_len", None, 7, now - 10**6)],
    )
    with tenant_context(tenant_alpha):
        current = get_current_performance(window_s=300)
    assert current["metrics"]["queue_len"]["count"] == 1
    assert current["metrics"]["queue_len"]["max"] == 7.0
    assert current["series"]["count"] == 1 and current["series"]["limit"] > 0
    assert current["process"]["cpu_percent"] >= 0


def _exact(values, q):
    """The sketch's rank rule on the exact values: nearest rank, rounded down."""
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


@pytest.mark.parametrize("rolled", [True, False], ids=["rolled-up", "raw"])
def test_analytics_agree_with_a_direct_computation(tenant_alpha, write_samples, rolled):
    """Every figure of get_analytics against the same samples computed here: counts,
    sums, min and max exactly; quantiles within the sketch's error; trends from the
    hourly points; from roll-ups and from raw samples alike."""
    rng = random.Random(14)
    now = now_us()
    start = now - now % HOUR_US - 5 * HOUR_US
    samples, by_hour = [], {}
    for i in range(1500):
        at = start + rng.randrange(5 * HOUR_US)
        view = f"v1:view-{i % 4}"
        status = "5xx" if i % 13 == 0 else "2xx"
        latency = rng.lognormvariate(-3 + 0.3 * ((at - start) // HOUR_US), 0.6)
        samples.append((REQ, {"view": view, "method": "GET", "status": status}, latency, at))
        samples.append(("http_request_cpu_seconds", {"view": view}, latency / 3, at))
        by_hour.setdefault((at - start) // HOUR_US, []).append((latency, status))
    write_samples(tenant_alpha, samples)
    with tenant_context(tenant_alpha):
        if rolled:
            do_roll_up()
        result = get_analytics(hours=12)
        per_series, _ = query.window(REQ, start, now)
    latencies = [s[2] for s in samples if s[0] == REQ]
    metric = result["metrics"][REQ]
    assert metric["count"] == len(latencies) == 1500
    assert metric["avg"] == pytest.approx(sum(latencies) / len(latencies), rel=1e-9)
    assert (metric["min"], metric["max"]) == (min(latencies), max(latencies))
    assert metric["error_rate"] == pytest.approx(sum(1 for i in range(1500) if i % 13 == 0) / 1500)
    for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        exact = _exact(latencies, q)
        assert abs(metric[key] - exact) <= exact * RELATIVE_ERROR * 1.0001
    cpu = [s[2] for s in samples if s[0] == "http_request_cpu_seconds"]
    assert result["metrics"]["http_request_cpu_seconds"]["count"] == len(cpu)
    # The same merge through the query API's Aggs gives the very same quantiles.
    merged = query.Agg()
    for agg in per_series.values():
        merged.merge(agg)
    assert merged.quantiles([0.5, 0.95, 0.99]) == [metric["p50"], metric["p95"], metric["p99"]]
    # Trends: the window starts 12 hours back on an hour, so the data's hours are 7..11.
    first = (start - (now - 12 * HOUR_US) // HOUR_US * HOUR_US) // HOUR_US
    hours = sorted(by_hour)
    xs = [float(first + h) for h in hours]
    averages = [sum(v for v, _ in by_hour[h]) / len(by_hour[h]) for h in hours]
    expected = trends.trend(xs, averages)
    got = result["trends"][f"{REQ}_trend"]
    assert got["points"] == len(hours) and got["slope"] == pytest.approx(expected["slope"])
    assert got["ci95"] == pytest.approx(expected["ci95"])
    throughput = trends.trend(xs, [len(by_hour[h]) / 3600 for h in hours])
    assert result["trends"]["throughput_trend"]["slope"] == pytest.approx(throughput["slope"])
    shares = [sum(1 for _, s in by_hour[h] if s == "5xx") / len(by_hour[h]) for h in hours]
    errors = trends.trend(xs, shares)
    assert result["trends"]["error_rate_trend"]["slope"] == pytest.approx(errors["slope"])
    latency = result["trends"]["latency_trend"]
    assert latency["direction"] == "rising" and latency["points"] == len(hours)
    p95s = [_exact([v for v, _ in by_hour[h]], 0.95) for h in hours]
    bound = trends.trend(xs, p95s)["slope"]
    assert latency["slope"] == pytest.approx(bound, rel=0.1)
    slowest = {row["view"]: row for row in result["slowest_views"]}
    for view in slowest:
        of_view = [s[2] for s in samples if s[0] == REQ and s[1]["view"] == view]
        assert slowest[view]["requests"] == len(of_view)
        exact = _exact(of_view, 0.95) * 1000
        assert abs(slowest[view]["p95_ms"] - exact) <= exact * RELATIVE_ERROR * 1.0001


def test_a_rollup_without_a_sketch_counts_but_gives_no_quantiles(tenant_alpha):
    from perf_mgr.models import MetricRollup, MetricSeries

    now = now_us()
    with tenant_context(tenant_alpha):
        series = MetricSeries.objects.create(name="g", digest="0" * 32)
        MetricRollup.objects.create(
            series_id=series.id,
            resolution=3600,
            start_us=now - now % HOUR_US - HOUR_US,
            count=2,
            sum=3.0,
            min=1.0,
            max=2.0,
        )
        result = get_analytics(hours=12)
    metric = result["metrics"]["g"]
    assert (metric["count"], metric["avg"], metric["max"]) == (2, 1.5, 2.0)
    assert metric["p50"] is None and metric["p95"] is None


def test_request_views_at_once_answer_like_merged_series(tenant_alpha, write_samples):
    """The views' quantiles computed for all views at once (analytics._View) are those
    of the per-series Aggs merged view by view (bottlenecks.request_views)."""
    from perf_mgr import bottlenecks
    from perf_mgr.analytics import _gather

    now = now_us()
    start = now - now % HOUR_US - 2 * HOUR_US
    rng = random.Random(3)
    samples = []
    for view in ("v1:a", "v1:b"):
        for status in ("2xx", "5xx"):
            values = [rng.lognormvariate(-2, 1) for _ in range(50)]
            samples += _requests(view, status, values, start)
    write_samples(tenant_alpha, samples)
    with tenant_context(tenant_alpha):
        do_roll_up()
        win = query.make_window(start, now, 3600, now_us=now)
        view = _gather(None, win)
        at_once = view.request_views()
        merged = bottlenecks.request_views(view.found, view.series_aggs())
    assert set(at_once) == set(merged) == {"v1:a", "v1:b"}
    for name, agg in at_once.items():
        assert agg.count == merged[name].count == 100
        assert agg.quantiles([0.5, 0.95, 0.99]) == merged[name].quantiles([0.5, 0.95, 0.99])
