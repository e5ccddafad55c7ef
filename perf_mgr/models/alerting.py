"""Alerting rows of a tenant: rules, the state of each (rule, label set), notification
channels and the notification outbox. All are TenantScopedModels (scoped ORM, RLS, the
conformance suite). Exported by perf_mgr.models; the code is in perf_mgr/alerting/."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from tenancy.models import TenantScopedModel


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class RuleHealth(models.TextChoices):
    OK = "ok", "Evaluated"
    WAITING = "waiting", "Waiting for a data source"
    ERROR = "error", "Error"


class AlertRule(TenantScopedModel):
    """One rule in the seed's YAML shape (name, condition, severity) plus `for`,
    `keep_firing_for` (seconds here), labels and annotations."""

    name = models.CharField(max_length=100)
    condition = models.TextField()
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    for_s = models.FloatField("for (seconds)", default=0.0)
    keep_firing_for_s = models.FloatField("keep firing for (seconds)", default=0.0)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    # Set by the evaluator: `waiting` for a rule whose source does not exist yet (the
    # seed's anomaly_score until the AI manager provides it), `error` with the reason.
    health = models.CharField(max_length=10, choices=RuleHealth.choices, default=RuleHealth.OK)
    health_detail = models.CharField(max_length=300, blank=True, default="")
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="uniq_alert_rule")]
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class AlertStatus(models.TextChoices):
    INACTIVE = "inactive", "Inactive"
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class AlertState(TenantScopedModel):
    """The state of one rule for one label set (its `by` groups), persisted so that a
    restarted evaluator continues where the last one stopped."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    fingerprint = models.CharField(max_length=32)  # blake2b of rule id + labels
    labels = models.JSONField(default=dict, blank=True)  # the rule's labels + the group's
    status = models.CharField(
        max_length=10, choices=AlertStatus.choices, default=AlertStatus.INACTIVE
    )
    value = models.FloatField(null=True, blank=True)  # the last value of the condition's metric
    active_since = models.DateTimeField(null=True, blank=True)  # condition true since
    last_true_at = models.DateTimeField(null=True, blank=True)  # keep_firing_for counts from it
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    incident = models.PositiveIntegerField(default=0)  # +1 at every firing: idempotency keys
    notified_at = models.DateTimeField(null=True, blank=True)  # last firing sent: repeat_interval
    last_evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "fingerprint"], name="uniq_alert_state"
            )
        ]
        ordering = ["rule_id", "fingerprint"]

    def __str__(self):
        return f"{self.rule_id}/{self.fingerprint[:8]}: {self.status}"


def new_secret() -> str:
    return secrets.token_hex(32)


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Signed webhook"


class AlertChannel(TenantScopedModel):
    """Where a tenant's notifications go. Webhooks are signed with the channel's secret
    (HMAC-SHA256; a secret per channel, so never shared across tenants)."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    target = models.CharField(max_length=500, help_text="Email addresses (comma-separated) or URL")
    secret = models.CharField(max_length=64, default=new_secret)
    min_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_alert_channel")
        ]
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.kind})"


class Transition(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    SILENCED = "silenced", "Silenced (not sent)"
    INHIBITED = "inhibited", "Inhibited by a critical alert (not sent)"


class AlertNotification(TenantScopedModel):
    """The outbox: one row per (channel, alert transition), written in the transaction
    that changes the alert's state and marked delivered only after the channel accepted
    it. The payload is self-contained (the rule may be deleted meanwhile)."""

    channel = models.ForeignKey(
        AlertChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    idempotency_key = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=32)
    group_key = models.CharField(max_length=32, blank=True, default="")  # the route's group_by
    transition = models.CharField(max_length=10, choices=Transition.choices)
    rule_name = models.CharField(max_length=100)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)  # a sender holds it until then
    last_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel", "idempotency_key"], name="uniq_alert_notification"
            )
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "next_attempt_at"], name="alert_outbox_due_idx"
            )
        ]
        ordering = ["id"]

    def __str__(self):
        return f"{self.rule_name} {self.transition} → {self.channel_id}: {self.status}"


class AlertSilence(TenantScopedModel):
    """Mutes the tenant's alerts whose labels include every matcher pair, from
    `starts_at` until `ends_at` (required: a silence always expires)."""

    matchers = models.JSONField(default=dict, help_text='Labels to match, e.g. {"team": "db"}')
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=300, blank=True, default="")
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        ordering = ["-ends_at", "id"]

    def __str__(self):
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(self.matchers.items()))
        return f"{pairs} until {self.ends_at:%Y-%m-%d %H:%M}"

    def matches(self, labels: dict) -> bool:
        return all(labels.get(k) == v for k, v in self.matchers.items())


class AlertRoute(TenantScopedModel):
    """How the tenant's notifications are grouped (Alertmanager's route): alerts with the
    same values of `group_by` go out together in one message per channel; the first of a
    new group waits `group_wait` for others, later ones wait until `group_interval` after
    the group's last message, and a still-firing alert is sent again every
    `repeat_interval`. One per tenant; without one, the ALERTING_* defaults."""

    group_by = models.JSONField(default=list, blank=True, help_text='e.g. ["alertname"]')
    group_wait_s = models.FloatField("group wait (seconds)", default=30.0)
    group_interval_s = models.FloatField("group interval (seconds)", default=300.0)
    repeat_interval_s = models.FloatField("repeat interval (seconds)", default=4 * 3600.0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["tenant"], name="uniq_alert_route")]

    def __str__(self):
        return f"group by {', '.join(self.group_by) or '(all)'}"
