"""The metrics and performance API: batches keep their good samples and report the bad
ones by index; queries and analytics are the caller's tenant's only."""

import json

import pytest

from perf_mgr.models import MetricSample, MetricSeries, now_us
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
URL = "/api/v1/metrics/"


def _post(client, samples):
    return client.post(URL, {"samples": samples}, format="json")


def test_batch_keeps_good_samples_and_reports_bad_ones(alpha_owner, tenant_alpha):
    samples = [
        {"name": "orders", "value": 3, "labels": {"region": "eu"}},
        {"name": "orders", "value": "12"},
        {"name": "bad name!", "value": 1},
        {"name": "orders", "value": 4.5, "labels": {"region": ["eu"]}},
        {"name": "orders", "value": True},
        {"name": "orders", "value": 5, "timestamp": "2999-01-01T00:00:00Z"},
        {"name": "orders", "value": 6, "labels": {"tenant": "beta"}},
        {"name": "orders", "value": 7, "timestamp": now_us() / 1e6 - 10},
    ]
    response = _post(api_as(alpha_owner, tenant_alpha), samples)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 2
    codes = {r["index"]: r["code"] for r in body["rejected"]}
    assert codes == {
        1: "not_numeric",
        2: "invalid_name",
        3: "invalid_label",
        4: "not_numeric",
        5: "invalid_timestamp",
        6: "invalid_label",
    }
    assert all(r["reason"] for r in body["rejected"])
    with tenant_context(tenant_alpha):
        assert sorted(MetricSample.objects.values_list("value", flat=True)) == [3.0, 7.0]


def test_batch_refuses_non_finite_numbers(alpha_owner, tenant_alpha):
    # JSON has no NaN; 1e400 parses to infinity, and a client may send NaN anyway.
    body = '{"samples": [{"name": "x", "value": 1e400}, {"name": "x", "value": -1e400}]}'
    client = api_as(alpha_owner, tenant_alpha)
    response = client.post(URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    rejected = response.json()["error"]["rejected"]
    assert [r["code"] for r in rejected] == ["not_finite", "not_finite"]
    nan = client.post(
        URL, '{"samples": [{"name": "x", "value": NaN}]}', content_type="application/json"
    )
    assert nan.status_code == 400


@pytest.mark.parametrize(
    "body,code",
    [({"samples": []}, "no_samples"), ({"nope": 1}, "invalid"), ("text", "invalid")],
)
def test_batch_shapes_that_are_not_batches(alpha_owner, tenant_alpha, body, code):
    response = api_as(alpha_owner, tenant_alpha).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_batch_over_the_series_limit_keeps_known_series(alpha_owner, tenant_alpha, settings):
    settings.PERFORMANCE_SERIES_LIMITS = {"enterprise": 2, "free": 2}
    client = api_as(alpha_owner, tenant_alpha)
    first = _post(client, [{"name": "m", "value": 1, "labels": {"k": str(i)}} for i in range(3)])
    assert first.status_code == 200
    assert first.json()["accepted"] == 2
    assert first.json()["rejected"] == [
        {"index": 2, "code": "series_limit", "reason": first.json()["rejected"][0]["reason"]}
    ]
    again = _post(client, [{"name": "m", "value": 9, "labels": {"k": "0"}}])
    assert again.json() == {"accepted": 1, "rejected": []}
    over = _post(client, [{"name": "other", "value": 1}])
    assert over.status_code == 400
    assert over.json()["error"]["rejected"][0]["code"] == "series_limit"
    with tenant_context(tenant_alpha):
        from perf_mgr.models import SeriesGuard

        assert MetricSeries.objects.count() == 2
        assert SeriesGuard.objects.get().refused_total == 2


def test_viewer_may_read_but_not_write(alpha_viewer, tenant_alpha):
    client = api_as(alpha_viewer, tenant_alpha)
    assert _post(client, [{"name": "x", "value": 1}]).status_code == 403
    assert client.get(URL, {"name": "x"}).status_code == 200


def test_query_raw_and_stepped_are_the_callers_tenant_only(
    alpha_owner, tenant_alpha, beta_owner, tenant_beta
):
    alpha, beta = api_as(alpha_owner, tenant_alpha), api_as(beta_owner, tenant_beta)
    _post(alpha, [{"name": "lat", "value": v, "labels": {"view": "a"}} for v in (1, 2, 3)])
    _post(beta, [{"name": "lat", "value": 100, "labels": {"view": "a"}}])
    raw = alpha.get(URL, {"name": "lat", "label": "view=a"}).json()
    assert sorted(r["value"] for r in raw["results"]) == [1.0, 2.0, 3.0]
    stepped = alpha.get(URL, {"name": "lat", "step": "1h"}).json()["results"]
    assert [(p["count"], p["sum"], p["max"]) for p in stepped] == [(3, 6.0, 3.0)]
    assert [r["value"] for r in beta.get(URL, {"name": "lat"}).json()["results"]] == [100.0]


@pytest.mark.parametrize(
    "params,code",
    [
        ({}, "invalid_name"),
        ({"name": "x;drop"}, "invalid_name"),
        ({"name": "x", "since": "yesterday"}, "invalid_since"),
        ({"name": "x", "until": "2026-01-01T00:00:00"}, "invalid_until"),
        ({"name": "x", "step": "-5m"}, "invalid_step"),
        ({"name": "x", "step": "1m", "since": "0"}, "too_many_points"),
        (
            {"name": "x", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            "invalid_window",
        ),
        ({"name": "x", "label": "novalue"}, "invalid_label"),
        ({"name": "x", "label": "bad-name=1"}, "invalid_label"),
    ],
)
def test_query_bad_parameters_are_400s(alpha_owner, tenant_alpha, params, code):
    response = api_as(alpha_owner, tenant_alpha).get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("prefix", ["/performance/", "/api/v1/performance/"])
def test_seed_paths_current_and_analytics(alpha_owner, tenant_alpha, prefix):
    client = api_as(alpha_owner, tenant_alpha)
    _post(client, [{"name": "session_creation_time", "value": 0.045}])
    current = client.get(prefix + "current" + ("/" if prefix.startswith("/api") else ""))
    assert current.status_code == 200, current.content
    assert current.json()["metrics"]["session_creation_time"]["count"] == 1
    suffix = "/" if prefix.startswith("/api") else ""
    analytics = client.get(prefix + "analytics" + suffix, {"hours": "24"})
    assert analytics.status_code == 200
    body = analytics.json()
    assert body["window"]["hours"] == 24 and "cpu_trend" in body["trends"]
    assert client.get(prefix + "analytics" + suffix, {"hours": "0"}).status_code == 400
    assert client.get(prefix + "analytics" + suffix, {"hours": "x"}).status_code == 400


def test_analytics_of_one_tenant_never_shows_anothers(
    alpha_owner, tenant_alpha, beta_owner, tenant_beta
):
    _post(api_as(beta_owner, tenant_beta), [{"name": "beta_only_metric", "value": 1}])
    body = api_as(alpha_owner, tenant_alpha).get("/performance/analytics").json()
    assert "beta_only_metric" not in json.dumps(body)
    current = api_as(alpha_owner, tenant_alpha).get("/performance/current").json()
    assert "beta_only_metric" not in json.dumps(current)
