"""Grouping per tenant route: group_by, group_wait, group_interval, repeat_interval."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from perf_mgr.alerting import delivery, evaluator
from perf_mgr.models.alerting import AlertChannel, AlertNotification, AlertRoute
from perf_mgr.tests.alerting_helpers import make_rule
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _samples(write_samples, tenant, now, regions):
    at = int(now.timestamp() * 1e6) - 30_000_000
    write_samples(tenant, [("session_creation_time", {"region": r}, 0.5, at) for r in regions])


def _setup(group_by, wait=60.0, interval=300.0, repeat=3600.0):
    AlertRoute.objects.create(
        group_by=group_by, group_wait_s=wait, group_interval_s=interval, repeat_interval_s=repeat
    )
    AlertChannel.objects.create(name="ops", kind="email", target="ops@alpha.example")
    make_rule(name="slow", condition="p95(session_creation_time[5m]) by (region) > 100ms")


def test_group_waits_then_sends_the_group_in_one_message(tenant_alpha, write_samples):
    now = timezone.now()
    _samples(write_samples, tenant_alpha, now, ["eu", "us", "ap"])
    with tenant_context(tenant_alpha):
        _setup(["alertname"])
        assert evaluator.evaluate_tenant(now).notifications == 3
        assert delivery.deliver_due(now + timedelta(seconds=59))["delivered"] == 0
        assert delivery.deliver_due(now + timedelta(seconds=60))["delivered"] == 3
    assert len(mail.outbox) == 1
    assert mail.outbox[0].body.count("Condition:") == 3


def test_group_by_a_label_sends_one_message_per_value(tenant_alpha, write_samples):
    now = timezone.now()
    _samples(write_samples, tenant_alpha, now, ["eu", "us"])
    with tenant_context(tenant_alpha):
        _setup(["region"], wait=0)
        evaluator.evaluate_tenant(now)
        delivery.deliver_due(now)
    assert len(mail.outbox) == 2


def test_group_interval_holds_later_changes_of_a_sent_group(tenant_alpha, write_samples):
    now = timezone.now()
    _samples(write_samples, tenant_alpha, now, ["eu"])
    with tenant_context(tenant_alpha):
        _setup(["alertname"], wait=0, interval=300)
        evaluator.evaluate_tenant(now)
        delivery.deliver_due(now)
    _samples(write_samples, tenant_alpha, now + timedelta(seconds=60), ["us"])
    later = now + timedelta(seconds=60)
    with tenant_context(tenant_alpha):
        evaluator.evaluate_tenant(later)
        row = AlertNotification.objects.filter(status="pending").get()
        assert row.next_attempt_at >= now + timedelta(seconds=300)
        assert delivery.deliver_due(later)["delivered"] == 0


def test_repeat_interval_resends_a_still_firing_alert_once_per_interval(
    tenant_alpha, write_samples
):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        _setup(["alertname"], wait=0, repeat=120)
    for minute in range(0, 5):
        at = now + timedelta(minutes=minute)
        _samples(write_samples, tenant_alpha, at, ["eu"])
        with tenant_context(tenant_alpha):
            evaluator.evaluate_tenant(at)
    with tenant_context(tenant_alpha):
        kinds = list(AlertNotification.objects.values_list("transition", flat=True))
        keys = set(AlertNotification.objects.values_list("idempotency_key", flat=True))
    # fired at 0, repeated at 2 and 4 minutes, each with its own key
    assert kinds == ["firing", "firing", "firing"] and len(keys) == 3


def test_route_api_reads_defaults_and_admin_sets_it(alpha_admin, alpha_viewer, tenant_alpha):
    from tests.personas import api_as

    url = "/api/v1/alerts/route/"
    viewer = api_as(alpha_viewer, tenant_alpha)
    assert viewer.get(url).data["configured"] is False
    assert viewer.put(url, {"group_wait": "10s"}, format="json").status_code == 403
    admin = api_as(alpha_admin, tenant_alpha)
    response = admin.put(
        url, {"group_by": ["region"], "group_wait": "10s", "repeat_interval": "1h"}, format="json"
    )
    assert response.status_code == 200
    assert (response.data["group_by"], response.data["group_wait"]) == (["region"], 10.0)
    assert response.data["repeat_interval"] == 3600.0 and response.data["configured"]
    bad = admin.put(url, {"group_by": ["not a label"]}, format="json")
    assert bad.status_code == 400 and "group_by" in bad.json()["error"]["fields"]
    bad = admin.put(url, {"group_interval": "0"}, format="json")
    assert bad.status_code == 400 and "group_interval" in bad.json()["error"]["fields"]
    bad = admin.put(url, {"group_wait": "soon"}, format="json")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_duration")
