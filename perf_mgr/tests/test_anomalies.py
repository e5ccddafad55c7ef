"""Anomaly detection on a tenant's metrics: robust scores stored with their evidence,
written as `anomaly_score` for the alert rules (the seed's rule fires), per tenant."""

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from perf_mgr import anomalies
from perf_mgr.alerting import evaluator, rules
from perf_mgr.models import MetricAnomaly, MetricSeries
from perf_mgr.models.alerting import AlertRule, AlertState
from perf_mgr.tests.insights_helpers import hourly_history, recent
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _us(moment):
    return int(moment.timestamp() * 1e6)


@pytest.fixture
def now():
    return timezone.now()


def test_detect_spike_is_stored_with_band_drivers_and_score(
    tenant_alpha, write_samples, now, settings
):
    settings.ANOMALY_DETECTION_THRESHOLD = 0.95
    at = _us(now)
    write_samples(tenant_alpha, hourly_history("orders", at))
    write_samples(tenant_alpha, hourly_history("checkout_seconds", at, level=2.0, noise=0.05))
    write_samples(tenant_alpha, hourly_history("calm", at, level=10.0, noise=0.5))
    write_samples(tenant_alpha, recent("orders", at, 400.0))
    write_samples(tenant_alpha, recent("checkout_seconds", at, 9.0))
    write_samples(tenant_alpha, recent("calm", at, 10.0))
    with tenant_context(tenant_alpha):
        outcome = anomalies.do_detect_anomalies(now)
        assert outcome == {"scored": 3, "anomalies": 2}
        found = {a.metric: a for a in MetricAnomaly.objects.all()}
        orders = found["orders"]
        assert orders.lower < orders.expected < orders.upper < orders.observed == 400.0
        assert 95 < orders.expected < 105 and orders.score >= 0.95
        assert orders.evidence["seasonal"] and orders.evidence["basis"] == "hour of week"
        assert [d["metric"] for d in orders.drivers] == ["checkout_seconds"]
        assert "calm" not in found
        scores = MetricSeries.objects.filter(name="anomaly_score")
        assert {s.labels["metric"] for s in scores} == {"orders", "checkout_seconds", "calm"}
        # A rerun in the same minute stores nothing twice.
        assert anomalies.do_detect_anomalies(now)["anomalies"] == 0


def test_detect_normal_values_store_nothing(tenant_alpha, write_samples, now):
    at = _us(now)
    write_samples(tenant_alpha, hourly_history("orders", at))
    write_samples(tenant_alpha, recent("orders", at, 100.5))
    with tenant_context(tenant_alpha):
        assert anomalies.do_detect_anomalies(now) == {"scored": 1, "anomalies": 0}
        assert not MetricAnomaly.objects.exists()


def test_detect_runs_in_its_tenant_only(tenant_alpha, tenant_beta, write_samples, now):
    at = _us(now)
    write_samples(tenant_alpha, hourly_history("orders", at))
    write_samples(tenant_alpha, recent("orders", at, 500.0))
    with tenant_context(tenant_beta):
        assert anomalies.do_detect_anomalies(now) == {"scored": 0, "anomalies": 0}
        assert not MetricAnomaly.objects.exists()
    with tenant_context(tenant_alpha):
        assert anomalies.do_detect_anomalies(now)["anomalies"] == 1
    with tenant_context(tenant_beta):
        assert not MetricAnomaly.objects.exists()


def test_seed_anomaly_rule_fires_from_the_detector(tenant_alpha, write_samples, now):
    at = _us(now)
    write_samples(tenant_alpha, hourly_history("orders", at))
    write_samples(tenant_alpha, recent("orders", at, 500.0))
    with tenant_context(tenant_alpha):
        (spec,) = rules.load_yaml(
            "alerts:\n  - name: anomaly_detected\n    condition: anomaly_score > 0.9\n"
            "    severity: critical\n"
        )
        rule = AlertRule.objects.create(**vars(spec))
        evaluator.evaluate_tenant(now)
        rule.refresh_from_db()
        assert rule.health == "ok"
        assert not AlertState.objects.filter(rule=rule, status="firing").exists()
        anomalies.do_detect_anomalies(now)
        evaluator.evaluate_tenant(now + dt.timedelta(seconds=5))
        state = AlertState.objects.get(rule=rule)
        assert state.status == "firing" and state.value > 0.9


def test_feature_frame_is_hours_by_metrics_with_nan_gaps(tenant_alpha, write_samples, now):
    at = _us(now)
    write_samples(tenant_alpha, hourly_history("orders", at, weeks=1))
    write_samples(tenant_alpha, hourly_history("latency", at, weeks=1, level=0.3, noise=0.01)[:30])
    frame = anomalies.feature_frame(tenant_alpha, dt.timedelta(days=2))
    assert frame["metrics"] == ["latency", "orders"]
    values = frame["values"]
    assert values.shape == (len(frame["times"]), 2)
    assert not np.isnan(values[:, 1]).any() and np.isnan(values[:, 0]).any()


def test_band_scores_each_hour_against_the_weeks_before(tenant_alpha, write_samples, now):
    at = _us(now)
    write_samples(tenant_alpha, hourly_history("orders", at, weeks=2))
    with tenant_context(tenant_alpha):
        band = anomalies.band("orders", at - 24 * 3600 * 10**6, at)
    assert 20 <= len(band) <= 25
    assert all(p["lower"] < p["expected"] < p["upper"] for p in band)
