from django.db import models
from django.utils import timezone

from tenancy.models import TenantScopedModel


class EventType(models.TextChoices):
    BRUTE_FORCE = "brute_force", "Brute force"
    CREDENTIAL_STUFFING = "credential_stuffing", "Credential stuffing"
    FORGED_TOKENS = "forged_tokens", "Forged or foreign tokens"
    CROSS_TENANT_PROBE = "cross_tenant_probe", "Cross-tenant probing"
    SESSION_ANOMALY = "session_anomaly", "Session anomaly"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class SecurityEvent(TenantScopedModel):
    """A detected threat and the action taken (block, revoke, step-up)."""

    type = models.CharField(max_length=30, choices=EventType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    actor = models.CharField(max_length=150, blank=True, default="")
    source = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    action = models.CharField(max_length=30, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "created_at"], name="secevent_tenant_time")]

    def __str__(self):
        return f"{self.type} ({self.severity})"
