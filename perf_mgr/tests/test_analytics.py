"""Analytics: percentiles, error rate, trends with their interval, and bottlenecks with
evidence, from stored samples."""

import pytest

from perf_mgr import trends
from perf_mgr.actions import do_roll_up
from perf_mgr.analytics import get_analytics, get_current_performance
from perf_mgr.models import HOUR_US, MINUTE_US, now_us
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
