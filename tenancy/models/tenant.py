from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
slug_validator = RegexValidator(
    SLUG_PATTERN, _("A tenant slug is 1-63 lowercase letters, digits or inner hyphens.")
)


class TenantState(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    ARCHIVED = "archived", _("Archived")


class TenantTier(models.TextChoices):
    FREE = "free", _("Free")
    STANDARD = "standard", _("Standard")
    ENTERPRISE = "enterprise", _("Enterprise")


class IsolationMode(models.TextChoices):
    POOLED = "pooled", _("Pooled (shared tables, RLS)")
    # DEDICATED ("silo" database per tenant) arrives with the connection manager.


class TenantQuerySet(models.QuerySet):
    def active(self):
        return self.filter(state=TenantState.ACTIVE)


class Tenant(models.Model):
    """A tenant is platform data (not tenant-scoped): membership resolution and the
    platform console must read it before any tenant is in context."""

    slug = models.CharField(
        max_length=63, unique=True, validators=[slug_validator], verbose_name=_("slug")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    state = models.CharField(
        max_length=16,
        choices=TenantState.choices,
        default=TenantState.ACTIVE,
        db_index=True,
        verbose_name=_("state"),
    )
    tier = models.CharField(
        max_length=16, choices=TenantTier.choices, default=TenantTier.FREE, verbose_name=_("tier")
    )
    isolation_mode = models.CharField(
        max_length=16,
        choices=IsolationMode.choices,
        default=IsolationMode.POOLED,
        verbose_name=_("isolation mode"),
    )
    # Bumped to invalidate every cache key of the tenant in O(1) (see tenancy/cache.py).
    cache_generation = models.PositiveBigIntegerField(
        default=0, editable=False, verbose_name=_("cache generation")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    @property
    def is_active(self) -> bool:
        return self.state == TenantState.ACTIVE


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Membership(models.Model):
    """Who may act in which tenant. Platform data: it is what resolves the tenant of a
    request, so it is read before a tenant is in context."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("tenant")
    )
    role = models.CharField(
        max_length=16, choices=Role.choices, default=Role.MEMBER, verbose_name=_("role")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership_user_tenant")
        ]
        ordering = ["tenant__slug", "user__username"]

    def __str__(self):
        return f"{self.user} @ {self.tenant} ({self.role})"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]
