"""Attacks on the insights (issue 15) as a second tenant would try them: reading,
applying or rolling back the first tenant's recommendations by id (the same 404 as a
missing one), reading its anomalies, forecasting its metrics, and the beat tasks run in
the second tenant's context."""

from __future__ import annotations

import pytest
from django.utils import timezone

from perf_mgr import anomalies, optimize, store, tasks
from perf_mgr.models import MetricAnomaly, Recommendation
from perf_mgr.tests.insights_helpers import hourly_history, recent
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db
BASE = "/api/v1/performance"


@pytest.fixture
def write_samples():
    def write(tenant, samples):
        rows = [
            (n, tuple(sorted(labels.items())), "custom", float(v), at)
            for n, labels, v, at in samples
        ]
        with tenant_context(tenant):
            return store.write(rows)

    return write


@pytest.fixture
def alpha_insights(tenant_alpha, write_samples, settings):
    """Alpha's anomaly and an applied recommendation."""
    settings.ENABLE_AI_OPTIMIZATION = True
    now = timezone.now()
    at = int(now.timestamp() * 1e6)
    write_samples(tenant_alpha, hourly_history("alpha_orders", at))
    write_samples(tenant_alpha, recent("alpha_orders", at, 900.0))
    view = {"view": "v1:alpha"}
    write_samples(tenant_alpha, recent("cache_misses", at, 1.0, count=60, labels=view))
    with tenant_context(tenant_alpha):
        anomalies.do_detect_anomalies(now)
        result = optimize.optimize_performance("balanced", auto_apply=False)
        ttl = next(r for r in result["recommendations"] if r["kind"] == "cache_ttl")
        optimize.do_apply_recommendation(ttl["id"])
        anomaly = MetricAnomaly.objects.get()
    return {"anomaly": anomaly.pk, "applied": ttl["id"], "proposed": result["recommendations"]}


def test_another_tenants_recommendation_is_the_missing_404(
    beta_owner, tenant_alpha, tenant_beta, alpha_insights
):
    beta = api_as(beta_owner, tenant_beta)
    rec_id = alpha_insights["applied"]
    for verb, suffix in (("get", ""), ("post", "apply/"), ("post", "rollback/")):
        foreign = getattr(beta, verb)(f"{BASE}/recommendations/{rec_id}/{suffix}")
        missing = getattr(beta, verb)(f"{BASE}/recommendations/987654321/{suffix}")
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content
    assert beta.get(f"{BASE}/recommendations/").json()["results"] == []
    with tenant_context(tenant_alpha):
        assert Recommendation.objects.get(pk=rec_id).status == "applied"
        assert "cache_ttl_seconds" in optimize.tuning()


def test_another_tenants_anomalies_and_metrics_are_invisible(
    beta_owner, tenant_beta, alpha_insights
):
    beta = api_as(beta_owner, tenant_beta)
    assert beta.get(f"{BASE}/anomalies/").json()["results"] == []
    foreign = beta.get(f"{BASE}/anomalies/{alpha_insights['anomaly']}/")
    assert foreign.status_code == 404
    forecast = beta.get(f"{BASE}/forecast/", {"metric": "alpha_orders"})
    assert forecast.status_code == 400 and forecast.json()["error"]["code"] == "too_few_points"


def test_beat_tasks_in_another_tenant_touch_nothing_of_the_first(
    tenant_alpha, tenant_beta, alpha_insights
):
    with tenant_context(tenant_beta):
        assert tasks.detect_anomalies_task.apply().get() == {"scored": 0, "anomalies": 0}
        assert tasks.watch_applied_recommendations_task.apply().get()["watched"] == 0
        with pytest.raises(Recommendation.DoesNotExist):
            optimize.do_rollback_recommendation(alpha_insights["applied"])
        assert optimize.tuning() == {}
    with tenant_context(tenant_alpha):
        assert Recommendation.objects.get(pk=alpha_insights["applied"]).status == "applied"
