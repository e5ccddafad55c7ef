"""Writing notifications into the durable outbox (delivery.py sends them).

The idempotency key is a digest of (alert fingerprint, incident number, transition):
the same transition of the same incident is one notification, whoever writes it and
however often (a unique constraint per channel), and the receiver sees the key in every
attempt (`X-DIM-Idempotency-Key`, the email's header) to drop duplicates of an
at-least-once delivery."""

from __future__ import annotations

import hashlib

from perf_mgr.models.alerting import SEVERITY_RANK, AlertChannel, AlertNotification


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


def enqueue(rule, state, transition: str, now) -> int:
    """One outbox row per enabled channel taking the rule's severity; returns how many
    were new. Runs inside the evaluator's transaction."""
    key = idempotency_key(state.fingerprint, state.incident, transition)
    body = payload(rule, state, transition, now)
    written = 0
    for channel in AlertChannel.objects.filter(enabled=True):
        if SEVERITY_RANK[rule.severity] < SEVERITY_RANK[channel.min_severity]:
            continue
        _row, created = AlertNotification.objects.get_or_create(
            channel=channel,
            idempotency_key=key,
            defaults={
                "fingerprint": state.fingerprint,
                "transition": transition,
                "rule_name": rule.name,
                "severity": rule.severity,
                "payload": body,
                "next_attempt_at": now,
            },
        )
        written += created
    return written
