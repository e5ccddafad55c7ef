"""Durable session state. The hot path reads a process-local view (fastpath.py); these
rows are the truth that view is rebuilt from."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


def new_session_id() -> str:
    return secrets.token_hex(16)  # 128 random bits: ids are not guessable either


class SessionType(models.TextChoices):
    USER = "user", _("User")
    API = "api", _("API")
    ADMIN = "admin", _("Admin")


class SecurityLevel(models.TextChoices):
    STANDARD = "standard", _("Standard")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")
    QUANTUM = "quantum", _("Quantum")


class Session(TenantScopedModel):
    id = models.CharField(
        primary_key=True,
        max_length=32,
        default=new_session_id,
        editable=False,
        verbose_name=_("ID"),
    )
    # No database constraint: users are platform rows; deleting one deletes its sessions
    # through a signal (apps.py), in every tenant.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("user"),
    )
    session_type = models.CharField(
        max_length=8,
        choices=SessionType.choices,
        default=SessionType.USER,
        verbose_name=_("session type"),
    )
    security_level = models.CharField(
        max_length=10,
        choices=SecurityLevel.choices,
        default=SecurityLevel.STANDARD,
        verbose_name=_("security level"),
    )
    created_at = models.DateTimeField(verbose_name=_("created at"))
    last_seen_at = models.DateTimeField(verbose_name=_("last seen at"))
    idle_expires_at = models.DateTimeField(verbose_name=_("idle expires at"))
    absolute_expires_at = models.DateTimeField(verbose_name=_("absolute expires at"))
    ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))
    user_agent = models.CharField(
        max_length=300, blank=True, default="", verbose_name=_("user agent")
    )
    device_fingerprint = models.CharField(
        max_length=128, blank=True, default="", verbose_name=_("device fingerprint")
    )
    # Hash of the current token; bumping the generation (refresh) kills older tokens.
    token_hash = models.CharField(
        max_length=64, default="", editable=False, verbose_name=_("token hash")
    )
    token_generation = models.PositiveIntegerField(default=0, verbose_name=_("token generation"))
    key_version = models.PositiveIntegerField(default=1, verbose_name=_("key version"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    revoke_reason = models.CharField(
        max_length=40, blank=True, default="", verbose_name=_("revoke reason")
    )
    risk_score = models.FloatField(default=0.0, verbose_name=_("risk score"))
    step_up_required = models.BooleanField(default=False, verbose_name=_("step-up required"))
    features = models.JSONField(default=dict, blank=True, verbose_name=_("features"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [
            models.Index(fields=["tenant", "user", "revoked_at"], name="sess_user_idx"),
            # What the view's resync reads: revoked or refreshed sessions. Partial, so a
            # new session (neither) costs no write to it: logins stay one index cheaper.
            models.Index(
                fields=["absolute_expires_at"],
                name="sess_dead_or_refreshed_idx",
                condition=models.Q(revoked_at__isnull=False) | models.Q(token_generation__gt=0),
            ),
        ]
        ordering = ["-created_at"]

    def __str__(self):
        return self.id

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class SessionKeyVersion(TenantScopedModel):
    """A version of the tenant's session keys. The keys themselves are derived, never
    stored (keys.py); this is which versions exist and which are accepted. The current
    version has no `accepted_until`; a rotation gives the version it retires one (the
    end of its grace period) and leaves older ones as they were, so every token of a
    grace period stays valid however many rotations fall inside it.

    Internal state, not configuration: written by `do_rotate_session_key` only, not a
    TenantSetting (the settings API could delete those)."""

    version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    accepted_until = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="uniq_session_key_version")
        ]
        ordering = ["-version"]

    def __str__(self):
        return f"v{self.version}"


class TenantSessionCutoff(TenantScopedModel):
    """ "Revoke every session of the tenant": tokens issued before `revoked_before_ms`
    (milliseconds, like a token's issue time) are dead. Internal state, written by
    `do_revoke_tenant_sessions` only."""

    revoked_before_ms = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantScopedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="uniq_session_cutoff_tenant")
        ]

    def __str__(self):
        return str(self.revoked_before_ms)
