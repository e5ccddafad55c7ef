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

from tenancy.models import TenantScopedModel


class EventType(models.TextChoices):
    # Threat detection (security_mgr/threats.py).
    BRUTE_FORCE = "brute_force", "Brute force"
    CREDENTIAL_STUFFING = "credential_stuffing", "Credential stuffing"
    FORGED_TOKENS = "forged_tokens", "Forged or foreign tokens"
    CROSS_TENANT_PROBE = "cross_tenant_probe", "Cross-tenant probing"
    # The session manager (sessions_mgr): anomalies it acted on, and genuine tokens of
    # one of its sessions presented for another tenant (recorded in the token's tenant).
    SESSION_ANOMALY = "session_anomaly", "Session anomaly"
    WRONG_TENANT = "wrong_tenant", "Token of another tenant"
    DEVICE_BINDING = "device_binding", "Device binding mismatch"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class SecurityEvent(TenantScopedModel):
    """A detected threat and the action taken (block, revoke, step-up). `actor` is who
    acted (a username, usually), `source` where from (an IP); a session's events name
    it in `session_id_ref` (and its user in `user_id_ref`): references, not foreign
    keys, because an event outlives the session it is about."""

    type = models.CharField(max_length=30, choices=EventType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    actor = models.CharField(max_length=150, blank=True, default="")
    source = models.CharField(max_length=64, blank=True, default="")
    session_id_ref = models.CharField(max_length=32, blank=True, default="")
    user_id_ref = models.BigIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    action = models.CharField(max_length=30, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
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
