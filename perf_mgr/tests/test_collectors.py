"""Collectors: requests per tenant and view, queries, cache reads, Celery tasks, and the
Prometheus exposition behind its guard."""

import pytest
from django.core.cache import cache
from django.test import Client

from perf_mgr import collectors, recording
from perf_mgr.models import MetricSample, MetricSeries
from tenancy.context import tenant_context
from tests.personas import PASSWORD, api_as

pytestmark = pytest.mark.django_db


def _stored(tenant):
    recording.flush()
    with tenant_context(tenant):
        return {
            (s.name, tuple(sorted(s.labels.items()))): list(
                MetricSample.objects.filter(series_id=s.pk).values_list("value", flat=True)
            )
            for s in MetricSeries.objects.all()
        }


def test_request_metrics_are_per_tenant_and_per_view_never_the_raw_path(
    alpha_owner, tenant_alpha, beta_owner, tenant_beta
):
    api_as(alpha_owner, tenant_alpha).get("/api/v1/metrics/", {"name": "x"})
    console = Client()
    console.login(username=alpha_owner.username, password=PASSWORD)
    assert console.get("/no-such-page/12345/").status_code == 404
    stored = _stored(tenant_alpha)
    latency = {k: v for k, v in stored.items() if k[0] == "http_request_duration_seconds"}
    assert set(latency) == {
        (
            "http_request_duration_seconds",
            (("method", "GET"), ("status", "2xx"), ("view", "v1:performance:metrics")),
        ),
        (
            "http_request_duration_seconds",
            (("method", "GET"), ("status", "4xx"), ("view", "unresolved")),
        ),
    }
    assert all(v[0] > 0 for v in latency.values())
    queries = stored[("http_request_db_queries", (("view", "v1:performance:metrics"),))]
    assert queries[0] >= 1  # at least the series lookup
    assert ("http_request_cpu_seconds", (("view", "v1:performance:metrics"),)) in stored
    assert _stored(tenant_beta) == {}


def test_cache_reads_are_counted_per_request_view(alpha_owner, tenant_alpha, settings):
    from django.core.cache import caches

    from perf_mgr.cache_backends import InstrumentedLocMemCache, InstrumentedRedisCache

    assert isinstance(caches["default"], InstrumentedLocMemCache | InstrumentedRedisCache)
    stats = collectors.RequestStats()
    token = collectors.current_request.set(stats)
    try:
        with tenant_context(tenant_alpha):
            cache.set("k", 1)
            assert cache.get("k") == 1
            assert cache.get("missing", "dflt") == "dflt"
            assert cache.get_many(["k", "nope", "nada"]) == {"k": 1}
    finally:
        collectors.current_request.reset(token)
    assert (stats.cache_hits, stats.cache_misses) == (2, 3)


def test_celery_task_duration_and_wait_land_in_the_tasks_tenant(tenant_alpha, tenant_beta):
    from perf_mgr.tasks import roll_up_metrics_task

    with tenant_context(tenant_alpha):
        roll_up_metrics_task.apply_async()
    stored = _stored(tenant_alpha)
    task = "perf_mgr.tasks.roll_up_metrics_task"
    assert ("celery_task_duration_seconds", (("state", "success"), ("task", task))) in stored
    assert ("celery_task_cpu_seconds", (("task", task),)) in stored
    assert _stored(tenant_beta) == {}


def test_queue_depth_sample_reports_every_queue(settings):
    depths = collectors.sample_queue_depths()
    assert depths and all(isinstance(v, int) and v >= 0 for v in depths.values())
    assert collectors.last_queue_depths()["depths"] == depths


def test_metrics_endpoint_needs_an_operator_or_the_token(superuser, alpha_owner, settings):
    settings.PERFORMANCE_METRICS_TOKEN = "s3cret-token-for-scrapers"
    anonymous = Client().get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    staff = Client()
    staff.login(username=alpha_owner.username, password=PASSWORD)
    assert staff.get("/metrics").status_code == 401
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    scraper = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-scrapers")
    assert scraper.status_code == 200
    assert b"dim_http_request_duration_seconds" in scraper.content
    operator = Client()
    operator.login(username=superuser.username, password=PASSWORD)
    body = operator.get("/metrics").content.decode()
    assert "dim_process_resident_memory_bytes" in body


def test_prometheus_tenant_label_only_when_enabled(alpha_owner, tenant_alpha, superuser, settings):
    operator = Client()
    operator.login(username=superuser.username, password=PASSWORD)
    api_as(alpha_owner, tenant_alpha).get("/api/v1/metrics/", {"name": "x"})
    assert 'tenant="alpha"' not in operator.get("/metrics").content.decode()
    settings.PERFORMANCE_PROMETHEUS_TENANT_LABELS = True
    api_as(alpha_owner, tenant_alpha).get("/api/v1/metrics/", {"name": "x"})
    assert 'tenant="alpha"' in operator.get("/metrics").content.decode()
