"""The "Firing alerts" card: its empty state, its counts, nothing of another tenant;
and beat's tasks evaluate and deliver in the tenant's context."""

import pytest
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from perf_mgr import tasks
from perf_mgr.alerting.card import firing_alerts_card
from perf_mgr.models.alerting import AlertChannel, AlertNotification, AlertRule, AlertState
from perf_mgr.tests.alerting_helpers import make_rule
from tenancy import console_registry
from tenancy.context import tenant_context
from tenancy.models import Membership

pytestmark = pytest.mark.django_db


def _request(user, tenant):
    request = RequestFactory().get("/")
    request.user = user
    request.membership = Membership.objects.filter(user=user, tenant=tenant).first()
    return request


def test_card_is_registered_and_says_what_fills_it(alpha_admin, tenant_alpha):
    assert "alerts" in dict(console_registry.card_providers())
    with tenant_context(tenant_alpha):
        card = firing_alerts_card(_request(alpha_admin, tenant_alpha), [tenant_alpha])
    assert card.value == "–" and "alert rule" in str(card.empty)


def test_card_counts_the_tenants_firing_alerts_only(alpha_admin, tenant_alpha, tenant_beta):
    with tenant_context(tenant_beta):
        rule = AlertRule.objects.create(name="b", condition="threat_level > 1", severity="critical")
        AlertState.objects.create(rule=rule, fingerprint="b" * 32, status="firing")
    with tenant_context(tenant_alpha):
        rule = AlertRule.objects.create(name="a", condition="threat_level > 1", severity="critical")
        AlertState.objects.create(rule=rule, fingerprint="a" * 32, status="firing")
        AlertState.objects.create(rule=rule, fingerprint="c" * 32, status="resolved")
        card = firing_alerts_card(_request(alpha_admin, tenant_alpha), [tenant_alpha])
    assert card.value == 1
    assert [(str(r.label), r.value) for r in card.rows] == [
        ("Critical", 1),
        ("Notifications waiting", 0),
    ]


def test_beat_tasks_evaluate_then_deliver_in_the_tenant(tenant_alpha, write_samples):
    now = timezone.now()
    write_samples(
        tenant_alpha,
        [("session_creation_time", {}, 0.5, int(now.timestamp() * 1e6) - 30_000_000)],
    )
    with tenant_context(tenant_alpha):
        AlertChannel.objects.create(name="ops", kind="email", target="ops@alpha.example")
        make_rule(name="slow", condition="session_creation_time_p95 > 100ms")
        result = tasks.evaluate_alert_rules_task.apply().get()
        assert (result["evaluated"], result["notifications"]) == (1, 1)
        assert tasks.deliver_alert_notifications_task.apply().get()["delivered"] == 1
        assert AlertNotification.objects.get().status == "delivered"
    assert len(mail.outbox) == 1
