"""Alert rules: the seed's rules load, states move inactive → pending → firing →
resolved in the database, and a restarted evaluator neither re-fires nor loses the
resolution."""

from datetime import timedelta

import pytest
from django.utils import timezone

from perf_mgr.alerting import evaluator, rules
from perf_mgr.models.alerting import AlertNotification, AlertRule, AlertState
from perf_mgr.tests.alerting_helpers import make_rule, make_webhook
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db

SEED_YAML = """
# Alert rules example
alerts:
  - name: high_session_creation_latency
    condition: session_creation_time_p95 > 100ms
    severity: warning

  - name: anomaly_detected
    condition: anomaly_score > 0.9
    severity: critical

  - name: security_threat_detected
    condition: threat_level == "high"
    severity: critical
"""


def _us(moment):
    return int(moment.timestamp() * 1e6)


def _latency(write_samples, tenant, now, value, labels=None):
    at = _us(now) - 30_000_000
    write_samples(
        tenant, [("session_creation_time", labels or {}, value, at + i) for i in range(5)]
    )


def test_seed_rules_load_as_written_and_anomaly_reads_the_detector(tenant_alpha, write_samples):
    with tenant_context(tenant_alpha):
        specs = rules.load_yaml(SEED_YAML)
        assert [s.name for s in specs] == [
            "high_session_creation_latency",
            "anomaly_detected",
            "security_threat_detected",
        ]
        for spec in specs:
            AlertRule.objects.create(**vars(spec))
    now = timezone.now()
    write_samples(tenant_alpha, [("anomaly_score", {}, 0.99, _us(now) - 10_000_000)])
    with tenant_context(tenant_alpha):
        outcome = evaluator.evaluate_tenant(now)
        anomaly = AlertRule.objects.get(name="anomaly_detected")
        # The detector's scores are its source (perf_mgr/anomalies.py): no rule waits.
        assert outcome.waiting == 0
        assert anomaly.health == "ok"
        assert AlertState.objects.get(rule=anomaly).value == 0.99


def test_threat_level_high_fires(tenant_alpha, write_samples):
    now = timezone.now()
    write_samples(tenant_alpha, [("threat_level", {}, 3, _us(now) - 10_000_000)])
    with tenant_context(tenant_alpha):
        rule = make_rule(name="threat", condition='threat_level == "high"', severity="critical")
        evaluator.evaluate_tenant(now)
        assert AlertState.objects.get(rule=rule).status == "firing"


def test_unknown_metric_is_refused_with_position(tenant_alpha):
    with tenant_context(tenant_alpha), pytest.raises(rules.RuleError) as caught:
        rules.validate_rule(
            {"name": "x", "condition": "session_creation_time > 1 and\n nonexistent_p95 > 2"}
        )
    assert caught.value.code == "unknown_metric"
    assert "nonexistent_p95" in caught.value.message
    assert (caught.value.line, caught.value.column) == (2, 2)


def test_metric_recorded_by_another_tenant_is_unknown_here(
    tenant_alpha, tenant_beta, write_samples
):
    write_samples(tenant_beta, [("orders_placed", {}, 1, _us(timezone.now()))])
    with tenant_context(tenant_alpha), pytest.raises(rules.RuleError):
        rules.validate_rule({"name": "x", "condition": "orders_placed > 1"})
    with tenant_context(tenant_beta):
        assert rules.validate_rule({"name": "x", "condition": "orders_placed > 1"}).name == "x"


def test_evaluate_waits_for_then_fires_once(tenant_alpha, write_samples):
    now = timezone.now()
    _latency(write_samples, tenant_alpha, now, 0.5)
    with tenant_context(tenant_alpha):
        make_webhook("http://127.0.0.1:9/")
        rule = make_rule(
            name="slow", condition="session_creation_time_p95 > 100ms", **{"for": "1m"}
        )
        evaluator.evaluate_tenant(now)
        assert AlertState.objects.get(rule=rule).status == "pending"
        evaluator.evaluate_tenant(now + timedelta(seconds=30))
        assert AlertState.objects.get(rule=rule).status == "pending"
        evaluator.evaluate_tenant(now + timedelta(seconds=61))
        state = AlertState.objects.get(rule=rule)
        assert (state.status, state.incident) == ("firing", 1)
        assert list(AlertNotification.objects.values_list("transition", flat=True)) == ["firing"]


def test_restarted_evaluator_neither_refires_nor_loses_resolution(
    tenant_alpha, write_samples, monkeypatch
):
    now = timezone.now()
    _latency(write_samples, tenant_alpha, now, 0.5)
    with tenant_context(tenant_alpha):
        make_webhook("http://127.0.0.1:9/")
        rule = make_rule(name="slow", condition="session_creation_time_p95 > 100ms")
        evaluator.evaluate_tenant(now)
        fired = AlertState.objects.get(rule=rule)
        assert fired.status == "firing"
    # "Restart": nothing survives but the database (the evaluator keeps no state of its
    # own; a new Evaluation object and freshly loaded rows are all the next one has).
    # (The registered sources go too, for this test only: the app registers them once.)
    monkeypatch.setattr(rules, "_sources", {})
    with tenant_context(tenant_alpha):
        evaluator.evaluate_tenant(now + timedelta(seconds=20))
        assert AlertState.objects.get(rule=rule).status == "firing"
        assert AlertNotification.objects.count() == 1
        later = now + timedelta(minutes=10)  # the samples are out of the 5-minute window
        evaluator.evaluate_tenant(later)
        evaluator.evaluate_tenant(later + timedelta(seconds=30))
        state = AlertState.objects.get(rule=rule)
        assert (state.status, state.resolved_at) == ("resolved", later)
        assert list(AlertNotification.objects.values_list("transition", flat=True)) == [
            "firing",
            "resolved",
        ]


def test_keep_firing_for_holds_across_restart(tenant_alpha, write_samples):
    now = timezone.now()
    _latency(write_samples, tenant_alpha, now, 0.5)
    with tenant_context(tenant_alpha):
        rule = make_rule(
            name="slow", condition="session_creation_time_p95 > 100ms", keep_firing_for="15m"
        )
        evaluator.evaluate_tenant(now)
        evaluator.evaluate_tenant(now + timedelta(minutes=10))  # clear, but kept firing
        assert AlertState.objects.get(rule=rule).status == "firing"
        evaluator.evaluate_tenant(now + timedelta(minutes=16))
        assert AlertState.objects.get(rule=rule).status == "resolved"


def test_by_groups_get_their_own_states(tenant_alpha, write_samples):
    now = timezone.now()
    _latency(write_samples, tenant_alpha, now, 0.5, {"region": "eu"})
    _latency(write_samples, tenant_alpha, now, 0.01, {"region": "us"})
    with tenant_context(tenant_alpha):
        rule = make_rule(
            name="slow", condition="p95(session_creation_time[5m]) by (region) > 100ms"
        )
        evaluator.evaluate_tenant(now)
        states = {s.labels["region"]: s.status for s in AlertState.objects.filter(rule=rule)}
        assert states == {"eu": "firing"}


def test_tenant_evaluation_never_touches_another_tenant(tenant_alpha, tenant_beta, write_samples):
    now = timezone.now()
    _latency(write_samples, tenant_alpha, now, 0.5)
    _latency(write_samples, tenant_beta, now, 0.5)
    with tenant_context(tenant_beta):
        make_rule(name="slow", condition="session_creation_time_p95 > 100ms")
    with tenant_context(tenant_alpha):
        make_rule(name="slow", condition="session_creation_time_p95 > 100ms")
        evaluator.evaluate_tenant(now)
        assert AlertState.objects.count() == 1
    with tenant_context(tenant_beta):
        assert not AlertState.objects.exists()


def test_rule_whose_read_fails_is_marked_and_others_still_run(
    tenant_alpha, write_samples, monkeypatch
):
    from perf_mgr import query

    now = timezone.now()
    _latency(write_samples, tenant_alpha, now, 0.5)
    real = query.evaluate

    def flaky(name, function, *args, **kwargs):
        if function == "p99":
            raise query.QueryError("too_many_points", "read refused")
        return real(name, function, *args, **kwargs)

    monkeypatch.setattr(query, "evaluate", flaky)
    with tenant_context(tenant_alpha):
        bad = make_rule(name="a_bad", condition="session_creation_time_p99 > 100ms")
        good = make_rule(name="b_good", condition="session_creation_time_p95 > 100ms")
        outcome = evaluator.evaluate_tenant(now)
        bad.refresh_from_db()
        assert (outcome.errors, bad.health, bad.health_detail) == (1, "error", "read refused")
        assert AlertState.objects.get(rule=good).status == "firing"
