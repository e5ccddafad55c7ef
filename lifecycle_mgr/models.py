"""Lifecycle tables. `LegalHold` is a platform row (not tenant-scoped): a hold is placed
and released by platform staff, and the lifecycle's purge and erasure consult it before
a tenant context exists. A hold with `user` empty covers the whole tenant; with a user, only
that user's data (erasure of that user is refused, the rest of the tenant is not held)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LegalHold(models.Model):
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        on_delete=models.PROTECT,  # a held tenant's row can never be deleted under it
        related_name="legal_holds",
        verbose_name=_("tenant"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legal_holds",
        verbose_name=_("user"),
    )
    reason = models.CharField(max_length=500, verbose_name=_("reason"))
    # Who placed or released it: a user name or "system:<what>", as in the audit log.
    placed_by = models.CharField(max_length=150, verbose_name=_("placed by"))
    placed_at = models.DateTimeField(auto_now_add=True, verbose_name=_("placed"))
    released_by = models.CharField(max_length=150, blank=True, verbose_name=_("released by"))
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("released"))

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        indexes = [models.Index(fields=["tenant", "released_at"], name="lifecycle_hold_active")]

    def __str__(self) -> str:
        scope = f"user {self.user_id}" if self.user_id else "tenant"
        state = "released" if self.released_at else "active"
        return f"hold on tenant {self.tenant_id} ({scope}, {state})"


class LifecycleState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    PROVISIONING = "provisioning", _("Provisioning")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    OFFBOARDING = "offboarding", _("Offboarding")
    ARCHIVED = "archived", _("Archived")
    PURGED = "purged", _("Purged")


# The data kinds that tier retention applies to. A tenant-scoped model names its kind in
# a `retention` class attribute and the time its rows age from in `retention_field`
# (rows where that field is empty are kept: unfinished work); lifecycle_mgr.retention
# finds them through the app registry. Metric samples keep perf_mgr's own retention, and
# the audit log is never purged (it is the evidence).
RETENTION_KINDS = ("jobs", "workflow_runs", "alert_notifications")
# The sessions feature's levels and the connection manager's modes, by value (a feature
# does not import another; tenancy's and the sessions' choices say the same).
SECURITY_LEVELS = ("standard", "high", "critical", "quantum")
ISOLATION_MODES = ("pooled", "dedicated")
QUOTAS = (
    "users",
    "sessions",
    "metadata_records",
    "metric_samples_per_day",
    "api_requests_per_minute",
)


class TierPolicy(models.Model):
    """A tier (free / standard / enterprise, seeded by migration 0003, editable in the
    console): the quotas, the retention per data kind, and the defaults a tenant of the
    tier gets. A platform row: tiers are the platform's offer, not a tenant's data.
    An empty quota means "no limit"."""

    name = models.SlugField(max_length=40, unique=True, verbose_name=_("name"))
    title = models.CharField(max_length=100, verbose_name=_("title"))
    max_users = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("users"))
    max_sessions = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("live sessions")
    )
    max_metadata_records = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("metadata records")
    )
    max_metric_samples_per_day = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("metric samples per day")
    )
    max_api_requests_per_minute = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("API requests per minute")
    )
    # {data kind: days to keep}; a kind left out is kept forever.
    retention_days = models.JSONField(default=dict, blank=True, verbose_name=_("retention (days)"))
    default_security_level = models.CharField(
        max_length=16,
        default="standard",
        choices=[(v, v) for v in SECURITY_LEVELS],
        verbose_name=_("default security level"),
    )
    # "dedicated" is what the tier promises; moving a tenant there is a tenant move
    # (move_mgr), started by an operator with the database's URL.
    isolation_mode = models.CharField(
        max_length=16,
        default="pooled",
        choices=[(v, v) for v in ISOLATION_MODES],
        verbose_name=_("isolation mode"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def limit(self, quota: str) -> int | None:
        return getattr(self, f"max_{quota}")

    def clean(self):
        from django.core.exceptions import ValidationError

        days = self.retention_days
        if not isinstance(days, dict):
            raise ValidationError({"retention_days": _("A mapping of data kind to days.")})
        for kind, value in days.items():
            if kind not in RETENTION_KINDS:
                raise ValidationError(
                    {"retention_days": _("Unknown data kind %(kind)s.") % {"kind": kind}}
                )
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(
                    {"retention_days": _("Days are a whole number of at least 1.")}
                )


class TenantLifecycle(models.Model):
    """Where a tenant is in its life, and its tier. A platform row (one per tenant):
    platform staff drive the transitions, and it outlives the tenant's data (a purged
    tenant keeps this row and its audit log). Changed only by the `lifecycle.*`
    workflows' steps (lifecycle_mgr.workflows)."""

    tenant = models.OneToOneField(
        "tenancy.Tenant",
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="lifecycle",
        verbose_name=_("tenant"),
    )
    state = models.CharField(
        max_length=16,
        choices=LifecycleState.choices,
        default=LifecycleState.REQUESTED,
        verbose_name=_("state"),
    )
    policy = models.ForeignKey(
        TierPolicy, on_delete=models.PROTECT, related_name="tenants", verbose_name=_("tier")
    )
    state_changed_at = models.DateTimeField(default=timezone.now, verbose_name=_("since"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("tenant lifecycle")
        verbose_name_plural = _("tenant lifecycles")

    def __str__(self) -> str:
        return f"tenant {self.tenant_id}: {self.state}"


# The GDPR tables (exports, erasure certificates) live in their own module.
from lifecycle_mgr.gdpr_models import ErasureCertificate, ExportArchive, ExportChunk  # noqa: E402,F401
