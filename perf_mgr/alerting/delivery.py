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

Grouping: the due notifications of one channel and group (outbox.py) go out as one
message, `{"status", "group_key", "idempotency_key", "alerts": [...]}` (each alert with
its own idempotency key too).

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
from django.db.models import Q
from django.utils import timezone

from perf_mgr.models.alerting import AlertNotification, ChannelKind, DeliveryStatus
from tenancy import db as tenant_db

LEASE_S = 120.0
TIMEOUT_S = 10.0


class DeliveryFailed(Exception):
    pass


def _setting(name: str, default):
    return getattr(settings, name, default)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def group_idempotency_key(batch: list[AlertNotification]) -> str:
    """The message's key: its notifications' keys together (the same batch resent
    carries the same key; each alert also carries its own)."""
    text = ",".join(sorted(n.idempotency_key for n in batch))
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def body_of(batch: list[AlertNotification]) -> bytes:
    alerts = [{**n.payload, "idempotency_key": n.idempotency_key} for n in batch]
    firing = any(n.transition == "firing" for n in batch)
    data = {
        "status": "firing" if firing else "resolved",
        "group_key": batch[0].group_key,
        "idempotency_key": group_idempotency_key(batch),
        "alerts": alerts,
    }
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


def send_webhook(batch: list[AlertNotification]) -> None:
    channel = batch[0].channel
    check_public_host(channel.target)
    body = body_of(batch)
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
            "X-DIM-Idempotency-Key": group_idempotency_key(batch),
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


def send_email(batch: list[AlertNotification]) -> None:
    channel = batch[0].channel
    recipients = [a.strip() for a in channel.target.split(",") if a.strip()]
    first = batch[0].payload
    if len(batch) == 1:
        subject = f"[{first['severity'].upper()}] {first['alert']} {first['status']}"
    else:
        names = ", ".join(sorted({n.rule_name for n in batch}))
        subject = f"[{len(batch)} alerts] {names}"
    lines = []
    for notification in batch:
        p = notification.payload
        lines += [
            f"{p['alert']} is {p['status']} ({p['severity']}).",
            f"Condition: {p['condition']}",
        ]
        lines += [f"  {k}: {v}" for k, v in sorted(p.get("labels", {}).items())]
        lines += [f"  {k}: {v}" for k, v in sorted(p.get("annotations", {}).items())]
        lines.append("")
    message = EmailMessage(
        subject,
        "\n".join(lines),
        to=recipients,
        headers={"X-DIM-Idempotency-Key": group_idempotency_key(batch)},
    )
    message.send(fail_silently=False)


SENDERS = {ChannelKind.WEBHOOK: send_webhook, ChannelKind.EMAIL: send_email}


def _claimable(now):
    return AlertNotification.objects.select_for_update(skip_locked=True).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), status=DeliveryStatus.PENDING
    )


def claim(now, limit: int) -> list[list[AlertNotification]]:
    """Lease up to `limit` notifications of the tenant: the due ones, oldest first, plus
    the others waiting in their groups (a group goes out together); returned as one
    batch per (channel, group), in the order they fell due."""
    with tenant_db.atomic():
        due = list(
            _claimable(now)
            .filter(next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", "channel_id", "group_key")[:limit]
        )
        ids = [row[0] for row in due]
        for channel_id, key in dict.fromkeys((c, k) for _i, c, k in due):
            room = limit - len(ids)
            if room <= 0:
                break
            more = _claimable(now).filter(channel_id=channel_id, group_key=key)
            ids += list(more.exclude(pk__in=ids).values_list("id", flat=True)[:room])
        AlertNotification.objects.filter(pk__in=ids).update(
            lease_until=now + timedelta(seconds=LEASE_S)
        )
    rows = AlertNotification.objects.filter(pk__in=ids).select_related("channel")
    batches: dict[tuple, list] = {}
    order = {pk: i for i, pk in enumerate(ids)}
    for row in sorted(rows, key=lambda r: order[r.pk]):
        batches.setdefault((row.channel_id, row.group_key), []).append(row)
    return list(batches.values())


def mark_delivered(batch: list[AlertNotification], now) -> None:
    for notification in batch:
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


def mark_failed(batch: list[AlertNotification], error: str, now) -> None:
    for notification in batch:
        attempts = notification.attempts + 1
        AlertNotification.objects.filter(pk=notification.pk, status=DeliveryStatus.PENDING).update(
            attempts=attempts,
            lease_until=None,
            next_attempt_at=now + timedelta(seconds=backoff_s(attempts)),
            last_error=error[:300],
        )


def deliver_due(now=None, limit: int | None = None) -> dict:
    """Send the tenant's due notifications (at most `limit`, the per-tenant batch), one
    message per channel and group; counts are of notifications."""
    now = now or timezone.now()
    limit = limit or int(_setting("ALERTING_DELIVERY_BATCH", 50))
    delivered = failed = 0
    for batch in claim(now, limit):
        try:
            SENDERS[batch[0].channel.kind](batch)
        except Exception as exc:  # noqa: BLE001 (any failure of a channel is a retry, never a drop)
            mark_failed(batch, str(exc) or type(exc).__name__, now)
            failed += len(batch)
            continue
        mark_delivered(batch, timezone.now())
        delivered += len(batch)
    return {"delivered": delivered, "failed": failed}


def pending_count() -> int:
    return AlertNotification.objects.filter(status=DeliveryStatus.PENDING).count()
