"""Alerting rows of a tenant: rules, the state of each (rule, label set), notification
channels and the notification outbox. All are TenantScopedModels (scoped ORM, RLS, the
conformance suite). Exported by perf_mgr.models; the code is in perf_mgr/alerting/."""

from __future__ import annotations

import secrets
from contextlib import nullcontext

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy import db as tenant_db
from tenancy import hooks
from tenancy.context import get_current_tenant_id, tenant_context
from tenancy.models import TenantScopedModel


class Severity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class RuleHealth(models.TextChoices):
    OK = "ok", _("Evaluated")
    WAITING = "waiting", _("Waiting for a data source")
    ERROR = "error", _("Error")


class AlertRule(TenantScopedModel):
    """One rule in the seed's YAML shape (name, condition, severity) plus `for`,
    `keep_firing_for` (seconds here), labels and annotations."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    condition = models.TextField(verbose_name=_("condition"))
    severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        default=Severity.WARNING,
        verbose_name=_("severity"),
    )
    for_s = models.FloatField(_("for (seconds)"), default=0.0)
    keep_firing_for_s = models.FloatField(_("keep firing for (seconds)"), default=0.0)
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    annotations = models.JSONField(default=dict, blank=True, verbose_name=_("annotations"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    # Set by the evaluator: `waiting` for a rule whose source does not exist yet (the
    # seed's anomaly_score until the AI manager provides it), `error` with the reason.
    health = models.CharField(
        max_length=10, choices=RuleHealth.choices, default=RuleHealth.OK, verbose_name=_("health")
    )
    health_detail = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("health detail")
    )
    last_evaluated_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("last evaluated at")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="uniq_alert_rule")]
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class AlertStatus(models.TextChoices):
    INACTIVE = "inactive", _("Inactive")
    PENDING = "pending", _("Pending")
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")


class AlertState(TenantScopedModel):
    """The state of one rule for one label set (its `by` groups), persisted so that a
    restarted evaluator continues where the last one stopped."""

    rule = models.ForeignKey(
        AlertRule, on_delete=models.CASCADE, related_name="states", verbose_name=_("rule")
    )
    # blake2b of rule id + labels
    fingerprint = models.CharField(max_length=32, verbose_name=_("fingerprint"))
    # the rule's labels + the group's
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    status = models.CharField(
        max_length=10,
        choices=AlertStatus.choices,
        default=AlertStatus.INACTIVE,
        verbose_name=_("status"),
    )
    # the last value of the condition's metric
    value = models.FloatField(null=True, blank=True, verbose_name=_("value"))
    # condition true since
    active_since = models.DateTimeField(null=True, blank=True, verbose_name=_("active since"))
    # keep_firing_for counts from it
    last_true_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last true at"))
    fired_at = models.DateTimeField(null=True, blank=True, verbose_name=_("fired at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    # +1 at every firing: idempotency keys
    incident = models.PositiveIntegerField(default=0, verbose_name=_("incident"))
    # last firing sent: repeat_interval
    notified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("notified at"))
    last_evaluated_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("last evaluated at")
    )

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("alert state")
        verbose_name_plural = _("alert states")
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


# A channel's secret is sealed with its tenant's key (features do not import security:
# `tenancy.hooks.seal_tenant_value`, as metadata_mgr seals sensitive records), bound to
# the tenant and the row, so the envelope opens for that channel only. Announced through
# `tenancy.hooks.sealed_columns` (perf_mgr/apps.py), so a key rewrap re-seals it.


def secret_aad(tenant_id: int, channel_id: int) -> bytes:
    parts = [b"perf_mgr.alertchannel", b"secret", str(tenant_id).encode(), str(channel_id).encode()]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def _in_tenant(tenant_id: int):
    # An operator under platform access reads or writes a channel in its own tenant.
    return nullcontext() if get_current_tenant_id() == tenant_id else tenant_context(tenant_id)


def seal_secret(tenant_id: int, channel_id: int, plain: str) -> bytes:
    with _in_tenant(tenant_id):
        return bytes(
            hooks.seal_tenant_value.call(plain.encode(), secret_aad(tenant_id, channel_id))
        )


def open_secret(tenant_id: int, channel_id: int, envelope: bytes) -> str:
    with _in_tenant(tenant_id):
        plain = hooks.open_tenant_value.call(bytes(envelope), secret_aad(tenant_id, channel_id))
    return plain.decode()


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Signed webhook")


class AlertChannel(TenantScopedModel):
    """Where a tenant's notifications go. Webhooks are signed with the channel's secret
    (HMAC-SHA256; a secret per channel, so never shared across tenants)."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    kind = models.CharField(max_length=10, choices=ChannelKind.choices, verbose_name=_("kind"))
    target = models.CharField(
        max_length=500,
        help_text=_("Email addresses (comma-separated) or URL"),
        verbose_name=_("target"),
    )
    # Never in clear: `secret` opens it. Empty only for a channel whose tenant's key was
    # gone when secrets were first sealed (migration 0006: disabled, new secret on save).
    secret_sealed = models.BinaryField(
        default=b"", blank=True, editable=False, verbose_name=_("secret (sealed)")
    )
    min_severity = models.CharField(
        max_length=10,
        choices=Severity.choices,
        default=Severity.INFO,
        verbose_name=_("minimum severity"),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_alert_channel")
        ]
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} ({self.kind})"

    @property
    def secret(self) -> str:
        """The webhook signing secret, opened with the tenant's key ("" if none)."""
        if not self.secret_sealed:
            return ""
        return open_secret(self.tenant_id, self.pk, self.secret_sealed)

    secret.fget.short_description = _("secret")

    def save(self, *args, **kwargs):
        if self.secret_sealed:
            return super().save(*args, **kwargs)
        # A new channel gets its secret here, whoever creates it (API, console, action):
        # the seal is bound to the row's id, so the row is written first.
        with tenant_db.atomic():
            super().save(*args, **kwargs)
            self.secret_sealed = seal_secret(self.tenant_id, self.pk, new_secret())
            super().save(update_fields=["secret_sealed"])


class Transition(models.TextChoices):
    FIRING = "firing", _("Firing")
    RESOLVED = "resolved", _("Resolved")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    SILENCED = "silenced", _("Silenced (not sent)")
    INHIBITED = "inhibited", _("Inhibited by a critical alert (not sent)")


class AlertNotification(TenantScopedModel):
    """The outbox: one row per (channel, alert transition), written in the transaction
    that changes the alert's state and marked delivered only after the channel accepted
    it. The payload is self-contained (the rule may be deleted meanwhile)."""

    # Tier retention (lifecycle_mgr.retention): delivered notifications age from delivery.
    retention, retention_field = "alert_notifications", "delivered_at"

    channel = models.ForeignKey(
        AlertChannel,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("channel"),
    )
    idempotency_key = models.CharField(max_length=64, verbose_name=_("idempotency key"))
    fingerprint = models.CharField(max_length=32, verbose_name=_("fingerprint"))
    # the route's group_by
    group_key = models.CharField(max_length=32, blank=True, default="", verbose_name=_("group key"))
    transition = models.CharField(
        max_length=10, choices=Transition.choices, verbose_name=_("transition")
    )
    rule_name = models.CharField(max_length=100, verbose_name=_("rule name"))
    severity = models.CharField(max_length=10, choices=Severity.choices, verbose_name=_("severity"))
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    status = models.CharField(
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
        verbose_name=_("status"),
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    # a sender holds it until then
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    last_error = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("last error")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("alert notification")
        verbose_name_plural = _("alert notifications")
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

    matchers = models.JSONField(
        default=dict,
        help_text=_('Labels to match, e.g. {"team": "db"}'),
        verbose_name=_("matchers"),
    )
    starts_at = models.DateTimeField(default=timezone.now, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    comment = models.CharField(max_length=300, blank=True, default="", verbose_name=_("comment"))
    created_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("silence")
        verbose_name_plural = _("silences")
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

    group_by = models.JSONField(
        default=list, blank=True, help_text=_('e.g. ["alertname"]'), verbose_name=_("group by")
    )
    group_wait_s = models.FloatField(_("group wait (seconds)"), default=30.0)
    group_interval_s = models.FloatField(_("group interval (seconds)"), default=300.0)
    repeat_interval_s = models.FloatField(_("repeat interval (seconds)"), default=4 * 3600.0)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("notification grouping")
        verbose_name_plural = _("notification grouping")
        constraints = [models.UniqueConstraint(fields=["tenant"], name="uniq_alert_route")]

    def __str__(self):
        return f"group by {', '.join(self.group_by) or '(all)'}"
