"""Samples go in through the store and come back through the query API exactly,
whether the roll-ups have read them or not."""

import pytest

from perf_mgr import query, recording, rollup
from perf_mgr.actions import do_purge_expired_metrics, do_roll_up
from perf_mgr.models import HOUR_US, MINUTE_US, MetricRollup, MetricSample, MetricSeries, now_us
from perf_mgr.sketch import RELATIVE_ERROR
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _window(tenant, name, since, until=None, labels=None):
    with tenant_context(tenant):
        found, _ = query.window(name, since, until or now_us(), labels)
    merged = query.Agg()
    for agg in found.values():
        merged.merge(agg)
    return merged


def test_record_then_flush_stores_in_the_recording_tenant(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        recording.record_metric("orders", 3, {"region": "eu"})
        recording.record_metric("orders", 4, {"region": "eu"})
    with tenant_context(tenant_beta):
        recording.record_metric("orders", 100)
    assert recording.pending() == 3
    assert recording.flush() == 3
    with tenant_context(tenant_alpha):
        assert sorted(MetricSample.objects.values_list("value", flat=True)) == [3.0, 4.0]
        assert list(MetricSeries.objects.values_list("labels", flat=True)) == [{"region": "eu"}]
    with tenant_context(tenant_beta):
        assert list(MetricSample.objects.values_list("value", flat=True)) == [100.0]


def test_record_metric_writes_nothing_to_the_database(tenant_alpha, django_assert_num_queries):
    with tenant_context(tenant_alpha), django_assert_num_queries(0):
        for value in range(100):
            recording.record_metric("latency", value / 10, {"view": "home"})
    assert recording.pending() == 100


def test_window_is_exact_before_between_and_after_rollups(tenant_alpha, write_samples, minute_ago):
    write_samples(tenant_alpha, [("lat", {"v": "a"}, x, minute_ago + x) for x in range(1, 11)])
    before = _window(tenant_alpha, "lat", minute_ago - HOUR_US)
    assert (before.count, before.sum, before.min, before.max) == (10, 55.0, 1.0, 10.0)
    with tenant_context(tenant_alpha):
        done = do_roll_up()
    assert done["samples"] == 10
    write_samples(tenant_alpha, [("lat", {"v": "a"}, 100, minute_ago + 30)])
    after = _window(tenant_alpha, "lat", minute_ago - HOUR_US)
    assert (after.count, after.sum, after.max) == (11, 155.0, 100.0)
    with tenant_context(tenant_alpha):
        do_roll_up()
        assert MetricRollup.objects.filter(resolution=60).get().count == 11
        assert MetricRollup.objects.filter(resolution=3600).get().count == 11
    assert _window(tenant_alpha, "lat", minute_ago - HOUR_US).count == 11


def test_late_sample_joins_the_bucket_of_its_own_minute(tenant_alpha, write_samples, minute_ago):
    write_samples(tenant_alpha, [("lat", None, 1, minute_ago)])
    with tenant_context(tenant_alpha):
        do_roll_up()
    late = minute_ago - 30 * MINUTE_US
    write_samples(tenant_alpha, [("lat", None, 2, late + 5)])
    with tenant_context(tenant_alpha):
        do_roll_up()
        starts = sorted(MetricRollup.objects.filter(resolution=60).values_list("start_us", "count"))
    assert starts == [(late, 1), (minute_ago, 1)]


def test_rollup_chunks_cover_every_sample_once(tenant_alpha, write_samples, minute_ago):
    write_samples(tenant_alpha, [("n", None, 1, minute_ago + i) for i in range(25)])
    with tenant_context(tenant_alpha):
        passes = [rollup.roll_up(chunk=10) for _ in range(4)]
    assert [p["samples"] for p in passes] == [10, 10, 5, 0]
    assert _window(tenant_alpha, "n", minute_ago - HOUR_US).count == 25


def test_quantiles_stay_within_the_sketch_error(tenant_alpha, write_samples, minute_ago):
    values = [0.001 * (i + 1) for i in range(1000)]  # 1 ms .. 1 s
    write_samples(tenant_alpha, [("lat", None, v, minute_ago + i) for i, v in enumerate(values)])
    with tenant_context(tenant_alpha):
        do_roll_up()
    agg = _window(tenant_alpha, "lat", minute_ago - 3 * HOUR_US)
    for q, exact in ((0.5, values[499]), (0.95, values[949]), (0.99, values[989])):
        assert abs(agg.quantile(q) - exact) <= exact * RELATIVE_ERROR * 1.01


def test_labels_select_series_by_subset(tenant_alpha, write_samples, minute_ago):
    write_samples(
        tenant_alpha,
        [
            ("req", {"view": "a", "status": "2xx"}, 1, minute_ago),
            ("req", {"view": "a", "status": "5xx"}, 2, minute_ago),
            ("req", {"view": "b", "status": "2xx"}, 4, minute_ago),
        ],
    )
    assert _window(tenant_alpha, "req", minute_ago - HOUR_US, labels={"view": "a"}).sum == 3.0
    with tenant_context(tenant_alpha):
        by_view = query.evaluate("req", "sum", 3600, by=["view"])
    assert by_view == {(("view", "a"),): 3.0, (("view", "b"),): 4.0}


def test_evaluate_absent_and_rate(tenant_alpha, write_samples):
    with tenant_context(tenant_alpha):
        assert query.evaluate("nothing_here", "absent", 300) == {(): 1.0}
    now = now_us()
    write_samples(tenant_alpha, [("hits", None, 1, now - i * 1_000_000) for i in range(30)])
    with tenant_context(tenant_alpha):
        assert query.evaluate("hits", "absent", 300) == {(): 0.0}
        rate = query.evaluate("hits", "rate", 300)[()]
        assert 30 / 420 <= rate <= 30 / 240  # 30 samples over the window's covered time


def test_step_points_agree_with_the_window(tenant_alpha, write_samples):
    now = now_us()
    start = now - now % HOUR_US - 2 * HOUR_US
    write_samples(tenant_alpha, [("g", None, i, start + i * 10 * MINUTE_US) for i in range(12)])
    with tenant_context(tenant_alpha):
        do_roll_up()
        hourly, _ = query.series_over_time("g", start, now, 3600)
        minutely, _ = query.series_over_time("g", start, now, 600)
    assert [agg.count for _, agg in hourly[0][1]] == [6, 6]
    assert [agg.sum for _, agg in minutely[0][1]] == [float(i) for i in range(12)]


def test_purge_keeps_what_the_tier_keeps(tenant_beta, write_samples, settings):
    settings.PERFORMANCE_RETENTION = {"standard": {"raw": 1, "minute": 2, "hour": 3}}
    now = now_us()
    day = 24 * HOUR_US
    ages = [0.5, 1.5, 2.5, 3.5]
    write_samples(tenant_beta, [("x", None, 1, now - int(a * day)) for a in ages[:1]])
    with tenant_context(tenant_beta):
        do_roll_up()
        # Old roll-ups as a long-running tenant would have them.
        for age in ages[1:]:
            start = now - int(age * day)
            for resolution in (60, 3600):
                MetricRollup.objects.create(
                    series_id=1, resolution=resolution, start_us=start, count=1, sum=1
                )
        MetricSample.objects.create(series_id=1, at_us=now - int(1.5 * day), value=1)
        first = do_purge_expired_metrics(now)
        do_roll_up()
        second = do_purge_expired_metrics(now)
        left = MetricSample.objects.count()
    # The old raw sample waits until it is rolled up; roll-ups go by their own ages.
    assert first == {"samples": 0, "minute_rollups": 2, "hour_rollups": 1}
    assert second == {"samples": 1, "minute_rollups": 0, "hour_rollups": 0}
    assert left == 1
