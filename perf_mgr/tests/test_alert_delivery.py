"""The outbox: signed webhooks to a real local HTTP server, email through Django's mail
backend, at-least-once across a killed notifier, back-off, and fairness."""

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from perf_mgr.alerting import delivery, evaluator, outbox
from perf_mgr.models.alerting import AlertChannel, AlertNotification
from perf_mgr.tests.alerting_helpers import make_rule, make_webhook
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_receiver_allowed(settings, request):
    # The receiver is a local server: private addresses allowed, except in the test
    # of the guard itself.
    settings.ALERTING_WEBHOOK_ALLOW_PRIVATE = "ssrf" not in request.node.name


def _fire(tenant, write_samples, now, notifies=True):
    at = int(now.timestamp() * 1e6) - 30_000_000
    write_samples(tenant, [("session_creation_time", {}, 0.5, at)])
    with tenant_context(tenant):
        make_rule(name="slow", condition="session_creation_time_p95 > 100ms")
        assert bool(evaluator.evaluate_tenant(now).notifications) is notifies


def test_webhook_is_signed_with_the_channel_secret(tenant_alpha, write_samples, receiver):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        channel = make_webhook(receiver.url)
    _fire(tenant_alpha, write_samples, now)
    with tenant_context(tenant_alpha):
        assert delivery.deliver_due(now) == {"delivered": 1, "failed": 0}
    headers, body = receiver.requests[0]
    expected = hmac.new(
        channel.secret.encode(), headers["x-dim-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["x-dim-signature"] == f"sha256={expected}"
    message = receiver.bodies()[0]
    assert message["status"] == "firing"
    assert [a["alert"] for a in message["alerts"]] == ["slow"]
    with tenant_context(tenant_alpha):
        key = AlertNotification.objects.get().idempotency_key
    assert message["alerts"][0]["idempotency_key"] == key


def test_killed_notifier_redelivers_same_key_and_never_repeats_acknowledged(
    tenant_alpha, write_samples, receiver, monkeypatch
):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        make_webhook(receiver.url)
    _fire(tenant_alpha, write_samples, now)

    def killed(*args):
        raise SystemExit("notifier killed after the send, before the mark")

    with tenant_context(tenant_alpha):
        with monkeypatch.context() as patch:
            patch.setattr(delivery, "mark_delivered", killed)
            with pytest.raises(SystemExit):
                delivery.deliver_due(now)
        assert len(receiver.requests) == 1
        assert AlertNotification.objects.get().status == "pending"
        # The restarted notifier: the dead one's lease has expired.
        after = now + timedelta(seconds=delivery.LEASE_S + 1)
        assert delivery.deliver_due(after)["delivered"] == 1
        assert delivery.deliver_due(after + timedelta(hours=2))["delivered"] == 0
    keys = receiver.keys()
    assert len(keys) == 2 and keys[0] == keys[1]
    bodies = receiver.bodies()
    assert bodies[0] == {**bodies[1]} and bodies[0]["idempotency_key"] == keys[0]
    with tenant_context(tenant_alpha):
        row = AlertNotification.objects.get()
        assert row.status == "delivered"
        assert bodies[0]["alerts"][0]["idempotency_key"] == row.idempotency_key


def test_failed_delivery_backs_off_exponentially_and_is_kept(
    tenant_alpha, write_samples, receiver, settings
):
    settings.ALERTING_RETRY_BASE_S = 30.0
    receiver.status = 503
    now = timezone.now()
    with tenant_context(tenant_alpha):
        make_webhook(receiver.url)
    _fire(tenant_alpha, write_samples, now)
    with tenant_context(tenant_alpha):
        assert delivery.deliver_due(now)["failed"] == 1
        row = AlertNotification.objects.get()
        assert (row.attempts, row.next_attempt_at) == (1, now + timedelta(seconds=30))
        assert "503" in row.last_error
        assert delivery.deliver_due(now + timedelta(seconds=29))["failed"] == 0
        assert delivery.deliver_due(now + timedelta(seconds=30))["failed"] == 1
        assert AlertNotification.objects.get().next_attempt_at == now + timedelta(seconds=90)
        receiver.status = 200
        assert delivery.deliver_due(now + timedelta(seconds=90))["delivered"] == 1
    assert len(set(receiver.keys())) == 1


def test_email_channel_sends_through_django_mail(tenant_alpha, write_samples):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        AlertChannel.objects.create(name="ops", kind="email", target="ops@alpha.example")
    _fire(tenant_alpha, write_samples, now)
    with tenant_context(tenant_alpha):
        delivery.deliver_due(now)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "[WARNING] slow firing"
    assert mail.outbox[0].to == ["ops@alpha.example"]
    assert mail.outbox[0].extra_headers["X-DIM-Idempotency-Key"]


def test_channel_min_severity_filters(tenant_alpha, write_samples):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        AlertChannel.objects.create(
            name="pager", kind="email", target="p@alpha.example", min_severity="critical"
        )
    _fire(tenant_alpha, write_samples, now, notifies=False)
    with tenant_context(tenant_alpha):
        assert not AlertNotification.objects.exists()


def _flood(count):
    channel = AlertChannel.objects.create(name="ops", kind="email", target="ops@x.example")
    AlertNotification.objects.bulk_create(
        AlertNotification(
            channel=channel,
            idempotency_key=outbox.idempotency_key("f" * 32, i, "firing"),
            fingerprint="f" * 32,
            transition="firing",
            rule_name="flood",
            severity="warning",
            payload={
                "alert": "flood",
                "status": "firing",
                "severity": "warning",
                "condition": "x > 1",
            },
        )
        for i in range(count)
    )


def test_flooding_tenant_cannot_delay_another_tenants_alert(tenant_alpha, tenant_beta, settings):
    settings.ALERTING_DELIVERY_BATCH = 50
    with tenant_context(tenant_alpha):
        _flood(500)
    with tenant_context(tenant_beta):
        _flood(1)
    # One beat cycle: the fan-out runs each tenant's delivery once, flooder first.
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            delivery.deliver_due()
    with tenant_context(tenant_beta):
        assert AlertNotification.objects.get().status == "delivered"
    with tenant_context(tenant_alpha):
        assert AlertNotification.objects.filter(status="delivered").count() == 50
    # One message per group: the flooder's 50 in one, the quiet tenant's in another.
    assert sorted(m.body.count("Condition:") for m in mail.outbox) == [1, 50]


def test_webhook_to_a_private_address_is_refused_and_kept_ssrf(
    tenant_alpha, write_samples, receiver
):
    now = timezone.now()
    with tenant_context(tenant_alpha):
        make_webhook(receiver.url.replace("127.0.0.1", "localhost"))
    _fire(tenant_alpha, write_samples, now)
    with tenant_context(tenant_alpha):
        assert delivery.deliver_due(now) == {"delivered": 0, "failed": 1}
        row = AlertNotification.objects.get()
        assert row.status == "pending" and "non-public" in row.last_error
    assert receiver.requests == []
