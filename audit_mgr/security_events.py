"""The security event: one model for every feature's detections (threat detection's
brute force and stuffing, the session manager's anomalies and foreign tokens).

A service, like the log: features record events through `record_security_event` (see
`event_store`), which appends the `security.<type>` audit entry in the same statement
or transaction; the audit log is their durable, tamper-evident record, this table the
queryable one (the events API, the dashboard, a session's history, the console).

The table is security_mgr's former `security_mgr_securityevent` (`db_table`): the model
moved here in Django's state, its rows and ids stayed, and the session manager's own
events were copied in (sessions_mgr/migrations/0004). `type` is one vocabulary for
both; the session, user and score columns are the session manager's.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class EventType(models.TextChoices):
    # Threat detection (security_mgr/threats.py).
    BRUTE_FORCE = "brute_force", _("Brute force")
    CREDENTIAL_STUFFING = "credential_stuffing", _("Credential stuffing")
    FORGED_TOKENS = "forged_tokens", _("Forged or foreign tokens")
    CROSS_TENANT_PROBE = "cross_tenant_probe", _("Cross-tenant probing")
    # The session manager (sessions_mgr): anomalies it acted on, and genuine tokens of
    # one of its sessions presented for another tenant (recorded in the token's tenant).
    SESSION_ANOMALY = "session_anomaly", _("Session anomaly")
    WRONG_TENANT = "wrong_tenant", _("Token of another tenant")
    DEVICE_BINDING = "device_binding", _("Device binding mismatch")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class SecurityEvent(TenantScopedModel):
    """A detected threat and the action taken (block, revoke, step-up). `actor` is who
    acted (a username, usually), `source` where from (an IP); a session's events name
    it in `session_id_ref` (and its user in `user_id_ref`): references, not foreign
    keys, because an event outlives the session it is about."""

    type = models.CharField(max_length=30, choices=EventType.choices, verbose_name=_("type"))
    severity = models.CharField(max_length=10, choices=Severity.choices, verbose_name=_("severity"))
    actor = models.CharField(max_length=150, blank=True, default="", verbose_name=_("actor"))
    source = models.CharField(max_length=64, blank=True, default="", verbose_name=_("source"))
    session_id_ref = models.CharField(
        max_length=32, blank=True, default="", verbose_name=_("session")
    )
    user_id_ref = models.BigIntegerField(null=True, blank=True, verbose_name=_("user id"))
    score = models.FloatField(null=True, blank=True, verbose_name=_("score"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    action = models.CharField(max_length=30, blank=True, default="", verbose_name=_("action"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        db_table = "security_mgr_securityevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "created_at"], name="secevent_tenant_time"),
            # A session's history (sessions selectors, the session's console page).
            models.Index(
                fields=["tenant", "session_id_ref"],
                name="secevent_tenant_session",
                condition=~models.Q(session_id_ref=""),
            ),
        ]

    def __str__(self):
        return f"{self.type} ({self.severity})"
