"""Writing notifications into the durable outbox (delivery.py sends them).

The idempotency key is a digest of (alert fingerprint, incident number, transition):
the same transition of the same incident is one notification, whoever writes it and
however often (a unique constraint per channel), and the receiver sees the key in every
attempt (`X-DIM-Idempotency-Key`, the email's header) to drop duplicates of an
at-least-once delivery.

Suppression (Alertmanager's, decided when the transition is written, kept visible in
the outbox with its reason instead of being sent):
- **silences**: an active AlertSilence whose matchers the alert's labels include;
- **inhibition**: a firing `critical` alert of the tenant suppresses a `warning` or
  `info` alert whose labels, apart from alertname and severity, are equal;
- a resolution is suppressed on a channel exactly when that incident's firing was
  (a resolution is never sent for a firing nobody was told about, and never lost for
  one that was).

Grouping (the tenant's AlertRoute, else the ALERTING_GROUP_* defaults): a notification
carries the digest of its alert's `group_by` values; delivery.py sends a channel's due
group as one message. Its send time: `group_wait` after the first of a new group, the
batch's time when the group already has one waiting, and no sooner than
`group_interval` after the group's last delivered message.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db.models import Min

from perf_mgr.models.alerting import (
    SEVERITY_RANK,
    AlertChannel,
    AlertNotification,
    AlertRoute,
    AlertSilence,
    AlertState,
    AlertStatus,
    DeliveryStatus,
    Severity,
    Transition,
)

IDENTITY_LABELS = ("alertname", "severity")


def idempotency_key(fingerprint: str, incident: int, transition: str) -> str:
    text = f"{fingerprint}:{incident}:{transition}"
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def payload(rule, state, transition: str, now) -> dict:
    return {
        "status": transition,
        "alert": rule.name,
        "severity": rule.severity,
        "labels": state.labels,
        "annotations": rule.annotations,
        "condition": rule.condition,
        "value": state.value,
        "fingerprint": state.fingerprint,
        "incident": state.incident,
        "starts_at": state.fired_at.isoformat() if state.fired_at else None,
        "ends_at": state.resolved_at.isoformat() if state.resolved_at else None,
        "at": now.isoformat(),
    }


def route() -> AlertRoute:
    """The tenant's route, or the settings' defaults (unsaved)."""
    return AlertRoute.objects.first() or AlertRoute(
        group_by=list(getattr(settings, "ALERTING_GROUP_BY", ["alertname"])),
        group_wait_s=float(getattr(settings, "ALERTING_GROUP_WAIT_S", 30.0)),
        group_interval_s=float(getattr(settings, "ALERTING_GROUP_INTERVAL_S", 300.0)),
        repeat_interval_s=float(getattr(settings, "ALERTING_REPEAT_INTERVAL_S", 4 * 3600.0)),
    )


def group_key(group_by: list, labels: dict) -> str:
    """`...` groups by every label (each alert alone), like Alertmanager."""
    names = sorted(labels) if "..." in group_by else sorted(group_by)
    text = json.dumps([(k, labels.get(k, "")) for k in names], separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def send_at(channel, key: str, current: AlertRoute, now):
    rows = AlertNotification.objects.filter(channel=channel, group_key=key)
    last = (
        rows.filter(status=DeliveryStatus.DELIVERED)
        .order_by("-delivered_at")
        .values_list("delivered_at", flat=True)
        .first()
    )
    waiting = rows.filter(status=DeliveryStatus.PENDING).aggregate(at=Min("next_attempt_at"))
    if waiting["at"] is not None:
        return waiting["at"]  # join the batch already waiting
    if last is not None and (now - last).total_seconds() < current.group_interval_s:
        return last + timedelta(seconds=current.group_interval_s)
    return now + timedelta(seconds=current.group_wait_s)


def _core(labels: dict) -> dict:
    return {k: v for k, v in labels.items() if k not in IDENTITY_LABELS}


def suppression(rule, state, now) -> str | None:
    """DeliveryStatus.SILENCED / INHIBITED for a firing about to be written, or None."""
    silences = AlertSilence.objects.filter(starts_at__lte=now, ends_at__gt=now)
    if any(s.matches(state.labels) for s in silences):
        return DeliveryStatus.SILENCED
    if rule.severity != Severity.CRITICAL:
        core = _core(state.labels)
        firing = AlertState.objects.filter(
            status=AlertStatus.FIRING, rule__severity=Severity.CRITICAL
        ).exclude(pk=state.pk)
        if any(_core(other.labels) == core for other in firing):
            return DeliveryStatus.INHIBITED
    return None


def _firing_status(channel, state) -> str | None:
    key = idempotency_key(state.fingerprint, state.incident, Transition.FIRING)
    row = AlertNotification.objects.filter(channel=channel, idempotency_key=key).first()
    return row.status if row is not None else None


def enqueue(rule, state, transition: str, now, current=None, repeat=None) -> int:
    """One outbox row per enabled channel taking the rule's severity; returns how many
    were new. Runs inside the evaluator's transaction. `repeat` numbers the
    repeat_interval re-sends of a firing alert (each its own key)."""
    current = current or route()
    kind = transition if repeat is None else f"{transition}:repeat:{repeat}"
    key = idempotency_key(state.fingerprint, state.incident, kind)
    body = payload(rule, state, transition, now)
    group = group_key(current.group_by, state.labels)
    written = 0
    suppressed = suppression(rule, state, now) if transition == Transition.FIRING else None
    for channel in AlertChannel.objects.filter(enabled=True):
        if SEVERITY_RANK[rule.severity] < SEVERITY_RANK[channel.min_severity]:
            continue
        status = suppressed or DeliveryStatus.PENDING
        if transition == Transition.RESOLVED:
            fired = _firing_status(channel, state)
            if fired is None:
                continue  # the channel was never told of this incident (added since)
            if fired in (DeliveryStatus.SILENCED, DeliveryStatus.INHIBITED):
                status = fired
        _row, created = AlertNotification.objects.get_or_create(
            channel=channel,
            idempotency_key=key,
            defaults={
                "fingerprint": state.fingerprint,
                "transition": transition,
                "rule_name": rule.name,
                "severity": rule.severity,
                "payload": body,
                "next_attempt_at": send_at(channel, group, current, now),
                "group_key": group,
                "status": status,
                "last_error": "" if status == DeliveryStatus.PENDING else f"not sent: {status}",
            },
        )
        written += created
    return written
