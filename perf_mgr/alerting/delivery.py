"""Delivering the outbox, at least once, fairly.

A sender claims due rows with a lease (`lease_until`), sends each, and only then marks
it delivered: a sender killed between the send and the mark leaves the row pending, and
once the lease expires the next run sends it again with the same idempotency key (the
receiver drops the duplicate); a delivered row is never sent again. A failed attempt is
retried with exponential back-off (ALERTING_RETRY_BASE_S doubling up to
ALERTING_RETRY_MAX_S) and is never dropped: resolutions included.

Fairness: a run delivers at most ALERTING_DELIVERY_BATCH notifications of its tenant
(the per-tenant rate limit), and beat sends one run per tenant per cycle (fan-out), so
one tenant's flood waits for its own next cycle while the others' alerts go out in this
one.

Webhooks: POST of the JSON payload with `X-DIM-Timestamp` (unix seconds) and
`X-DIM-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the channel's
secret>`; a receiver recomputes it and refuses old timestamps (replay).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from perf_mgr.models.alerting import AlertNotification, ChannelKind, DeliveryStatus

LEASE_S = 120.0
TIMEOUT_S = 10.0


class DeliveryFailed(Exception):
    pass


def _setting(name: str, default):
    return getattr(settings, name, default)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(notification: AlertNotification) -> bytes:
    data = {**notification.payload, "idempotency_key": notification.idempotency_key}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def check_public_host(url: str) -> None:
    """A tenant's webhook must not reach the platform's own network (SSRF): every
    address the host resolves to must be public, unless ALERTING_WEBHOOK_ALLOW_PRIVATE
    (development, tests). Checked again at every send (DNS may change)."""
    if _setting("ALERTING_WEBHOOK_ALLOW_PRIVATE", False):
        return
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise DeliveryFailed(f"cannot resolve {host!r}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global:
            raise DeliveryFailed(f"{host!r} resolves to a non-public address")


def send_webhook(notification: AlertNotification) -> None:
    channel = notification.channel
    check_public_host(channel.target)
    body = body_of(notification)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 (the URL was validated: http or https)
        channel.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "dim-alerting/1",
            "X-DIM-Timestamp": timestamp,
            "X-DIM-Signature": sign(channel.secret, timestamp, body),
            "X-DIM-Idempotency-Key": notification.idempotency_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise DeliveryFailed(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"unreachable: {getattr(exc, 'reason', exc)}") from None


def send_email(notification: AlertNotification) -> None:
    p = notification.payload
    recipients = [a.strip() for a in notification.channel.target.split(",") if a.strip()]
    subject = f"[{p['severity'].upper()}] {p['alert']} {p['status']}"
    lines = [f"{p['alert']} is {p['status']} ({p['severity']}).", f"Condition: {p['condition']}"]
    lines += [f"{k}: {v}" for k, v in sorted(p.get("labels", {}).items())]
    lines += [f"{k}: {v}" for k, v in sorted(p.get("annotations", {}).items())]
    message = EmailMessage(
        subject,
        "\n".join(lines),
        to=recipients,
        headers={"X-DIM-Idempotency-Key": notification.idempotency_key},
    )
    message.send(fail_silently=False)


SENDERS = {ChannelKind.WEBHOOK: send_webhook, ChannelKind.EMAIL: send_email}


def claim(now, limit: int) -> list[AlertNotification]:
    """Lease up to `limit` due notifications of the tenant, oldest first."""
    with transaction.atomic():
        due = (
            AlertNotification.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_attempt_at", "id")[:limit]
        )
        ids = [n.pk for n in due]
        AlertNotification.objects.filter(pk__in=ids).update(
            lease_until=now + timedelta(seconds=LEASE_S)
        )
    return list(AlertNotification.objects.filter(pk__in=ids).select_related("channel"))


def mark_delivered(notification: AlertNotification, now) -> None:
    AlertNotification.objects.filter(pk=notification.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.DELIVERED,
        delivered_at=now,
        lease_until=None,
        attempts=notification.attempts + 1,
        last_error="",
    )


def backoff_s(attempts: int) -> float:
    base = float(_setting("ALERTING_RETRY_BASE_S", 30.0))
    return min(base * 2 ** max(attempts - 1, 0), float(_setting("ALERTING_RETRY_MAX_S", 3600.0)))


def mark_failed(notification: AlertNotification, error: str, now) -> None:
    attempts = notification.attempts + 1
    AlertNotification.objects.filter(pk=notification.pk, status=DeliveryStatus.PENDING).update(
        attempts=attempts,
        lease_until=None,
        next_attempt_at=now + timedelta(seconds=backoff_s(attempts)),
        last_error=error[:300],
    )


def deliver_due(now=None, limit: int | None = None) -> dict:
    """Send the tenant's due notifications (at most `limit`, the per-tenant batch)."""
    now = now or timezone.now()
    limit = limit or int(_setting("ALERTING_DELIVERY_BATCH", 50))
    delivered = failed = 0
    for notification in claim(now, limit):
        try:
            SENDERS[notification.channel.kind](notification)
        except Exception as exc:  # noqa: BLE001 (any failure of a channel is a retry, never a drop)
            mark_failed(notification, str(exc) or type(exc).__name__, now)
            failed += 1
            continue
        mark_delivered(notification, timezone.now())
        delivered += 1
    return {"delivered": delivered, "failed": failed}


def pending_count() -> int:
    return AlertNotification.objects.filter(status=DeliveryStatus.PENDING).count()
