"""Lifecycle tables. `LegalHold` is a platform row (not tenant-scoped): a hold is placed
and released by platform staff, and the lifecycle's purge and erasure consult it before
a tenant context exists. A hold with `user` empty covers the whole tenant; with a user, only
that user's data (erasure of that user is refused, the rest of the tenant is not held)."""

from django.conf import settings
from django.db import models
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


# The GDPR tables (exports, erasure certificates) live in their own module.
from lifecycle_mgr.gdpr_models import ErasureCertificate, ExportArchive, ExportChunk  # noqa: E402,F401
