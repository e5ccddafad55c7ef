"""Silences (with expiry) and inhibition: suppressed transitions stay visible in the
outbox, are never sent, and a resolution follows its firing's fate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from perf_mgr.alerting import evaluator
from perf_mgr.models.alerting import AlertChannel, AlertNotification, AlertSilence
from perf_mgr.tests.alerting_helpers import make_rule
from tenancy.context import tenant_context
from tests.personas import api_as

pytestmark = pytest.mark.django_db


def _samples(write_samples, tenant, now, name, value):
    write_samples(tenant, [(name, {}, value, int(now.timestamp() * 1e6) - 30_000_000)])


def _statuses():
    return sorted(AlertNotification.objects.values_list("rule_name", "transition", "status"))


def test_silenced_firing_and_its_resolution_are_not_sent(tenant_alpha, write_samples):
    now = timezone.now()
    _samples(write_samples, tenant_alpha, now, "session_creation_time", 0.5)
    with tenant_context(tenant_alpha):
        AlertChannel.objects.create(name="ops", kind="email", target="ops@alpha.example")
        make_rule(name="slow", condition="session_creation_time_p95 > 100ms", labels={"team": "s"})
        AlertSilence.objects.create(
            matchers={"team": "s"}, starts_at=now, ends_at=now + timedelta(minutes=5)
        )
        evaluator.evaluate_tenant(now)
        evaluator.evaluate_tenant(now + timedelta(minutes=10))
        assert _statuses() == [("slow", "firing", "silenced"), ("slow", "resolved", "silenced")]


def test_expired_silence_does_not_mute(tenant_alpha, write_samples):
    now = timezone.now()
    _samples(write_samples, tenant_alpha, now, "session_creation_time", 0.5)
    with tenant_context(tenant_alpha):
        AlertChannel.objects.create(name="ops", kind="email", target="ops@alpha.example")
        make_rule(name="slow", condition="session_creation_time_p95 > 100ms")
        AlertSilence.objects.create(
            matchers={"alertname": "slow"},
            starts_at=now - timedelta(hours=2),
            ends_at=now - timedelta(hours=1),
        )
        evaluator.evaluate_tenant(now)
        assert _statuses() == [("slow", "firing", "pending")]


def test_firing_critical_inhibits_warning_with_equal_labels(tenant_alpha, write_samples):
    now = timezone.now()
    _samples(write_samples, tenant_alpha, now, "session_creation_time", 0.5)
    _samples(write_samples, tenant_alpha, now, "threat_level", 3)
    with tenant_context(tenant_alpha):
        AlertChannel.objects.create(name="ops", kind="email", target="ops@alpha.example")
        make_rule(name="a_warn", condition="session_creation_time_p95 > 100ms")
        make_rule(name="b_crit", condition='threat_level == "high"', severity="critical")
        make_rule(
            name="c_other", condition="session_creation_time_p95 > 100ms", labels={"team": "x"}
        )
        evaluator.evaluate_tenant(now)
        assert _statuses() == [
            ("a_warn", "firing", "inhibited"),
            ("b_crit", "firing", "pending"),
            ("c_other", "firing", "pending"),
        ]


def test_silence_api_refuses_past_expiry_and_bad_matchers(alpha_admin, tenant_alpha):
    client = api_as(alpha_admin, tenant_alpha)
    url = "/api/v1/alerts/silences/"
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    response = client.post(url, {"matchers": {"team": "db"}, "ends_at": past}, format="json")
    assert response.status_code == 400
    assert "ends_at" in response.json()["error"]["fields"]
    response = client.post(url, {"matchers": {}, "ends_at": future}, format="json")
    assert response.status_code == 400
    assert "matchers" in response.json()["error"]["fields"]
    response = client.post(url, {"matchers": {"team": "db"}, "ends_at": future}, format="json")
    assert response.status_code == 201
    assert response.data["created_by"] == alpha_admin.username
    assert len(client.get(f"{url}?active=true").data["results"]) == 1


def test_silences_of_one_tenant_never_mute_another(tenant_alpha, tenant_beta, write_samples):
    now = timezone.now()
    _samples(write_samples, tenant_beta, now, "session_creation_time", 0.5)
    with tenant_context(tenant_alpha):
        AlertSilence.objects.create(
            matchers={"alertname": "slow"}, ends_at=now + timedelta(hours=1)
        )
    with tenant_context(tenant_beta):
        AlertChannel.objects.create(name="ops", kind="email", target="ops@beta.example")
        make_rule(name="slow", condition="session_creation_time_p95 > 100ms")
        evaluator.evaluate_tenant(now)
        assert _statuses() == [("slow", "firing", "pending")]
