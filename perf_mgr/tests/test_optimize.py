"""Optimisation advice of a tenant: recommendations with reasoning, applied only when the
settings allow, reversible with one call, rolled back when the watched metric worsens,
audited."""

import datetime as dt

import pytest
from django.utils import timezone

from ai_mgr.advice import StrategyError
from audit_mgr.models import AuditEntry, PendingAuditEntry
from perf_mgr import optimize
from perf_mgr.models import Recommendation
from perf_mgr.tests.insights_helpers import recent
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
REQ = "http_request_duration_seconds"


def _busy(write_samples, tenant, latency=0.1):
    now = int(timezone.now().timestamp() * 1e6)
    view = {"view": "v1:things", "status": "2xx"}
    write_samples(tenant, recent(REQ, now, latency, count=40, labels=view))
    write_samples(tenant, recent("cache_misses", now, 1.0, count=50, labels={"view": "v1:things"}))
    write_samples(tenant, recent("cache_hits", now, 1.0, count=5, labels={"view": "v1:things"}))


def _events(name):
    # Sequenced at the commit: inside the test's transaction an entry is still pending.
    return [
        *AuditEntry.objects.filter(event=name),
        *PendingAuditEntry.objects.filter(event=name),
    ]


def test_optimize_proposes_with_reasoning_and_applies_nothing_when_disabled(
    tenant_alpha, write_samples, settings
):
    settings.ENABLE_AI_OPTIMIZATION = settings.AUTO_SCALING_ENABLED = False
    _busy(write_samples, tenant_alpha)
    with tenant_context(tenant_alpha):
        result = optimize.optimize_performance("balanced", actor="alice")
        kinds = {r["kind"]: r for r in result["recommendations"]}
        assert {"cache_ttl", "rate_limit"} <= set(kinds)
        assert kinds["cache_ttl"]["reasoning"] and kinds["cache_ttl"]["expected_effect"]
        assert kinds["cache_ttl"]["proposed_value"] == 2 * kinds["cache_ttl"]["current_value"]
        assert result["applied"] == [] and result["strategy_used"] == "balanced"
        assert optimize.tuning() == {}
        assert len(_events("performance.optimize")) == 1


def test_optimize_applies_safe_ones_when_allowed_and_supersedes_old(
    tenant_alpha, write_samples, settings
):
    settings.ENABLE_AI_OPTIMIZATION = settings.AUTO_SCALING_ENABLED = True
    _busy(write_samples, tenant_alpha)
    with tenant_context(tenant_alpha):
        first = optimize.optimize_performance("conservative")
        assert first["applied"] == []  # conservative never applies on its own
        second = optimize.optimize_performance("aggressive", actor="alice")
        assert len(second["applied"]) == 2
        assert set(optimize.tuning()) == {"cache_ttl_seconds", "rate_limit_per_minute"}
        old = Recommendation.objects.filter(pk__in=[r["id"] for r in first["recommendations"]])
        assert {r.status for r in old} == {"superseded"}
        assert len(_events("performance.recommendation.apply")) == 2


def test_apply_refusals_are_409_with_the_reason(tenant_alpha, write_samples, settings):
    settings.ENABLE_AI_OPTIMIZATION = False
    _busy(write_samples, tenant_alpha)
    with tenant_context(tenant_alpha):
        result = optimize.optimize_performance("balanced", auto_apply=False)
        ttl = next(r for r in result["recommendations"] if r["kind"] == "cache_ttl")
        with pytest.raises(optimize.OptimizeError) as err:
            optimize.do_apply_recommendation(ttl["id"])
        assert (err.value.status, err.value.code) == (409, "disabled")
        assert "ENABLE_AI_OPTIMIZATION" in err.value.message
        advice_only = Recommendation.objects.create(
            kind="celery_concurrency",
            strategy="balanced",
            current_value=4,
            proposed_value=6,
            reasoning="r",
            expected_effect="e",
            advice_only_reason="a platform-wide resource",
        )
        with pytest.raises(optimize.OptimizeError) as err:
            optimize.do_apply_recommendation(advice_only.pk)
        assert (err.value.status, err.value.code) == (409, "advice_only")
        assert "platform-wide" in err.value.message


def test_rollback_restores_the_replaced_value_once(tenant_alpha, write_samples, settings):
    settings.ENABLE_AI_OPTIMIZATION = True
    _busy(write_samples, tenant_alpha)
    with tenant_context(tenant_alpha):
        result = optimize.optimize_performance("balanced", auto_apply=False)
        ttl = next(r for r in result["recommendations"] if r["kind"] == "cache_ttl")
        applied = optimize.do_apply_recommendation(ttl["id"], actor="alice")
        assert optimize.tuning()["cache_ttl_seconds"] == ttl["proposed_value"]
        assert applied.previous_value is None and applied.watched_baseline is not None
        back = optimize.do_rollback_recommendation(ttl["id"], actor="alice")
        assert back.status == "rolled_back" and "cache_ttl_seconds" not in optimize.tuning()
        with pytest.raises(optimize.OptimizeError) as err:
            optimize.do_rollback_recommendation(ttl["id"])
        assert err.value.code == "not_applied"
        assert len(_events("performance.recommendation.rollback")) == 1


def test_watch_rolls_back_when_the_watched_metric_worsens(tenant_alpha, write_samples, settings):
    settings.ENABLE_AI_OPTIMIZATION = True
    settings.OPTIMIZATION_ROLLBACK_TOLERANCE = 0.2
    _busy(write_samples, tenant_alpha, latency=0.1)
    with tenant_context(tenant_alpha):
        result = optimize.optimize_performance("balanced", auto_apply=False)
        ttl = next(r for r in result["recommendations"] if r["kind"] == "cache_ttl")
        optimize.do_apply_recommendation(ttl["id"])
        assert optimize.do_watch_applied() == {"watched": 1, "rolled_back": 0}
        Recommendation.objects.filter(pk=ttl["id"]).update(
            applied_at=timezone.now() - dt.timedelta(minutes=10)
        )
    now = int(timezone.now().timestamp() * 1e6)
    write_samples(tenant_alpha, recent(REQ, now, 2.0, count=40, labels={"view": "v1:things"}))
    with tenant_context(tenant_alpha):
        assert optimize.do_watch_applied() == {"watched": 1, "rolled_back": 1}
        rec = Recommendation.objects.get(pk=ttl["id"])
        assert rec.status == "rolled_back" and "p95 rose" in rec.rollback_reason
        assert "cache_ttl_seconds" not in optimize.tuning()


def test_optimize_unknown_strategy_is_refused(tenant_alpha):
    with tenant_context(tenant_alpha), pytest.raises(StrategyError):
        optimize.optimize_performance("reckless")


def test_recommendations_of_another_tenant_cannot_be_reached(
    tenant_alpha, tenant_beta, write_samples, settings
):
    settings.ENABLE_AI_OPTIMIZATION = True
    _busy(write_samples, tenant_alpha)
    with tenant_context(tenant_alpha):
        result = optimize.optimize_performance("balanced", auto_apply=False)
    rec_id = result["recommendations"][0]["id"]
    with tenant_context(tenant_beta):
        with pytest.raises(Recommendation.DoesNotExist):
            optimize.do_apply_recommendation(rec_id)
        with pytest.raises(Recommendation.DoesNotExist):
            optimize.do_rollback_recommendation(rec_id)
    with tenant_context(tenant_alpha):
        assert Recommendation.objects.get(pk=rec_id).status == "proposed"
