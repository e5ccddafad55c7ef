"""The insights API: the seed's POST /performance/optimize, recommendations with apply
and rollback (409 with the reason when refused), anomalies and forecasts."""

import pytest
from django.utils import timezone

from perf_mgr import anomalies
from perf_mgr.models import Recommendation
from perf_mgr.tests.insights_helpers import hourly_history, recent
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/performance"


def _busy(write_samples, tenant):
    now = int(timezone.now().timestamp() * 1e6)
    view = {"view": "v1:things"}
    write_samples(tenant, recent("http_request_duration_seconds", now, 0.1, count=40, labels=view))
    write_samples(tenant, recent("cache_misses", now, 1.0, count=50, labels=view))


@pytest.mark.parametrize("url", ["/performance/optimize", f"{BASE}/optimize/"])
def test_optimize_answers_recommendations(alpha_admin, tenant_alpha, write_samples, url):
    _busy(write_samples, tenant_alpha)
    response = api_as(alpha_admin, tenant_alpha).post(url, {"strategy": "balanced"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["strategy_used"] == "balanced" and body["applied"] == []
    assert {r["kind"] for r in body["recommendations"]} >= {"cache_ttl", "rate_limit"}


def test_optimize_refuses_bad_strategy_and_viewers(alpha_admin, alpha_viewer, tenant_alpha):
    admin = api_as(alpha_admin, tenant_alpha)
    bad = admin.post(f"{BASE}/optimize/", {"strategy": "yolo"}, format="json")
    assert bad.status_code == 400
    assert admin.post(f"{BASE}/optimize/", {}, format="json").json()["strategy"] == "adaptive"
    viewer = api_as(alpha_viewer, tenant_alpha)
    assert viewer.post(f"{BASE}/optimize/", {}, format="json").status_code == 403


def test_apply_and_rollback_through_the_api(alpha_admin, tenant_alpha, write_samples, settings):
    settings.ENABLE_AI_OPTIMIZATION = False
    _busy(write_samples, tenant_alpha)
    client = api_as(alpha_admin, tenant_alpha)
    recs = client.post(f"{BASE}/optimize/", {"strategy": "balanced", "apply": False}, format="json")
    ttl = next(r for r in recs.json()["recommendations"] if r["kind"] == "cache_ttl")
    off = client.post(f"{BASE}/recommendations/{ttl['id']}/apply/")
    assert off.status_code == 409 and off.json()["error"]["code"] == "disabled"
    settings.ENABLE_AI_OPTIMIZATION = True
    on = client.post(f"{BASE}/recommendations/{ttl['id']}/apply/")
    assert on.status_code == 200 and on.json()["status"] == "applied"
    listed = client.get(f"{BASE}/recommendations/", {"status": "applied"}).json()
    assert [r["id"] for r in listed["results"]] == [ttl["id"]]
    back = client.post(f"{BASE}/recommendations/{ttl['id']}/rollback/")
    assert back.status_code == 200 and back.json()["status"] == "rolled_back"
    again = client.post(f"{BASE}/recommendations/{ttl['id']}/rollback/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_applied"
    assert client.get(f"{BASE}/recommendations/", {"status": "nope"}).status_code == 400


def test_advice_only_apply_is_409_with_the_reason(alpha_admin, tenant_alpha):
    with tenant_context(tenant_alpha):
        rec = Recommendation.objects.create(
            kind="db_pool_size",
            strategy="balanced",
            current_value=10,
            proposed_value=15,
            reasoning="r",
            expected_effect="e",
            advice_only_reason="a platform-wide resource shared by every tenant",
        )
    response = api_as(alpha_admin, tenant_alpha).post(f"{BASE}/recommendations/{rec.pk}/apply/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "advice_only"
    assert "platform-wide" in response.json()["error"]["message"]


def test_anomalies_are_listed_with_evidence(alpha_owner, tenant_alpha, write_samples):
    now = timezone.now()
    at = int(now.timestamp() * 1e6)
    write_samples(tenant_alpha, hourly_history("orders", at))
    write_samples(tenant_alpha, recent("orders", at, 500.0))
    with tenant_context(tenant_alpha):
        anomalies.do_detect_anomalies(now)
    client = api_as(alpha_owner, tenant_alpha)
    body = client.get(f"{BASE}/anomalies/", {"metric": "orders"}).json()
    (row,) = body["results"]
    assert row["observed"] == 500.0 and row["lower"] < row["expected"] < row["upper"]
    assert row["evidence"]["seasonal"] is True
    assert client.get(f"{BASE}/anomalies/{row['id']}/").status_code == 200
    assert client.get(f"{BASE}/anomalies/", {"since": "soon"}).status_code == 400


def test_forecast_gives_band_and_backtest(alpha_owner, tenant_alpha, write_samples):
    at = int(timezone.now().timestamp() * 1e6)
    write_samples(tenant_alpha, hourly_history("orders", at, weeks=2, daily=20.0))
    client = api_as(alpha_owner, tenant_alpha)
    response = client.get(f"{BASE}/forecast/", {"metric": "orders", "horizon": "12"})
    assert response.status_code == 200, response.content
    body = response.json()
    points = body["forecast"]["points"]
    assert len(points) == 12 and all(p["lower"] < p["mean"] < p["upper"] for p in points)
    assert body["forecast"]["method"] == "seasonal"
    assert body["backtest"]["mape"] < 0.1 and body["backtest"]["meets_target"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"metric": "nothing_here"}, "too_few_points"),
        ({"metric": "bad name"}, "invalid_metric"),
        ({"metric": "orders", "horizon": "0"}, "invalid_horizon"),
        ({"metric": "orders", "method": "magic"}, "unknown_method"),
        ({"metric": "orders", "stat": "median"}, "invalid_stat"),
    ],
)
def test_forecast_bad_input_is_400(alpha_owner, tenant_alpha, write_samples, query, code):
    at = int(timezone.now().timestamp() * 1e6)
    write_samples(tenant_alpha, hourly_history("orders", at, weeks=1))
    response = api_as(alpha_owner, tenant_alpha).get(f"{BASE}/forecast/", query)
    assert response.status_code == 400 and response.json()["error"]["code"] == code
