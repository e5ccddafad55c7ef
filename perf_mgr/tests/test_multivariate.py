"""The per-tenant multivariate anomaly detector: trained on the tenant's own metrics
through ai_mgr's registry (data source `perf_mgr.metrics`), then used by the anomaly
detection run, which stores its anomalies and writes its `anomaly_score`."""

import pytest
from django.utils import timezone

from ai_mgr import loader, sources
from ai_mgr.models import MLModel, ModelAlias
from jobs_mgr import engine
from jobs_mgr.models import Job
from perf_mgr import anomalies, multivariate
from perf_mgr.models import MetricAnomaly, MetricSeries
from perf_mgr.tests.insights_helpers import hourly_history, recent
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_loader():
    loader.forget_all()
    yield
    loader.forget_all()


@pytest.fixture
def now():
    return timezone.now()


def _history(write_samples, tenant, now):
    at = int(now.timestamp() * 1e6)
    write_samples(tenant, hourly_history("orders", at, weeks=1))
    write_samples(tenant, hourly_history("latency", at, weeks=1, level=2.0, noise=0.05))
    write_samples(tenant, hourly_history("sparse", at, weeks=1)[:60])  # 20 of 168 hours
    return at


def _train(tenant):
    with tenant_context(tenant):
        job = multivariate.do_train(actor="test", send=False)
        engine.run_job(job.pk)
        job.refresh_from_db()
        return job


def test_multivariate_training_rows_come_from_the_tenants_metrics(
    tenant_alpha, tenant_beta, write_samples, now
):
    _history(write_samples, tenant_alpha, now)
    with tenant_context(tenant_alpha):
        rows = sources.fetch(multivariate.SOURCE)
    assert len(rows) >= 160
    assert set(rows[0]) == {"timestamp", "latency", "orders"}  # the sparse metric left out
    assert all(95 < r["orders"] < 105 for r in rows)
    with tenant_context(tenant_beta):
        assert sources.fetch(multivariate.SOURCE) == []


def test_multivariate_trained_through_the_registry(tenant_alpha, write_samples, now):
    _history(write_samples, tenant_alpha, now)
    job = _train(tenant_alpha)
    assert job.state == "succeeded", job.last_error
    with tenant_context(tenant_alpha):
        model = MLModel.objects.get(name=multivariate.MODEL)
        assert model.source == multivariate.SOURCE and model.kind == "anomaly_detector"
        champion = ModelAlias.objects.get(model=model, name="champion").version
        assert champion.features == ["latency", "orders"]
        assert champion.data_rows >= 160 and champion.trained_by == "test"


def test_multivariate_detection_stores_an_outlier_with_evidence(
    tenant_alpha, write_samples, now, settings
):
    # An out-of-range row scores about 0.69 to 0.75 here (seeded histories vary per
    # process), an ordinary hour about 0.4: 0.6 separates them with room.
    settings.ANOMALY_MULTIVARIATE_THRESHOLD = 0.6
    at = _history(write_samples, tenant_alpha, now)
    _train(tenant_alpha)
    write_samples(tenant_alpha, recent("orders", at, 400.0, count=20))
    write_samples(tenant_alpha, recent("latency", at, 9.0, count=20))
    with tenant_context(tenant_alpha):
        anomalies.do_detect_anomalies(now)
        found = MetricAnomaly.objects.get(metric=multivariate.METRIC)
        assert found.method == "isolation_forest"
        assert found.score >= multivariate.threshold()
        assert found.upper == found.evidence["threshold"]
        assert found.evidence["version"] == 1
        assert set(found.evidence["features"]) == {"latency", "orders"}
        assert {d["metric"] for d in found.drivers} <= {"orders", "latency"}
        labels = {s.labels["metric"] for s in MetricSeries.objects.filter(name="anomaly_score")}
        assert multivariate.METRIC in labels


def test_multivariate_ordinary_hour_stores_no_anomaly(tenant_alpha, write_samples, now):
    at = _history(write_samples, tenant_alpha, now)
    _train(tenant_alpha)
    write_samples(tenant_alpha, recent("orders", at, 100.2, count=20))
    write_samples(tenant_alpha, recent("latency", at, 2.0, count=20))
    with tenant_context(tenant_alpha):
        verdict = multivariate.evaluate(at)
        assert verdict is not None and verdict.score < multivariate.threshold()
        anomalies.do_detect_anomalies(now)
        assert not MetricAnomaly.objects.filter(metric=multivariate.METRIC).exists()


def test_multivariate_other_tenant_has_no_detector(tenant_alpha, tenant_beta, write_samples, now):
    _history(write_samples, tenant_alpha, now)
    _train(tenant_alpha)
    at = _history(write_samples, tenant_beta, now)
    with tenant_context(tenant_beta):
        assert multivariate.evaluate(at) is None
        assert not MLModel.objects.filter(name=multivariate.MODEL).exists()


def test_multivariate_first_training_queued_only_with_auto_training(
    tenant_alpha, write_samples, now, settings
):
    _history(write_samples, tenant_alpha, now)
    with tenant_context(tenant_alpha):
        settings.AUTO_TRAINING_ENABLED = False
        anomalies.do_detect_anomalies(now)
        assert not Job.objects.filter(kind="ai.train").exists()
        settings.AUTO_TRAINING_ENABLED = True
        anomalies.do_detect_anomalies(now)
        job = Job.objects.get(kind="ai.train")
        assert job.params["source"] == multivariate.SOURCE
        assert MLModel.objects.filter(name=multivariate.MODEL).exists()
        anomalies.do_detect_anomalies(now)  # queued once, then ai_mgr's drift check owns it
        assert Job.objects.filter(kind="ai.train").count() == 1
