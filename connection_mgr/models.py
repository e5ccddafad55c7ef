"""Where each tenant's rows live: a platform row per tenant (not tenant-scoped: the
router reads it before the tenant's database can be chosen).

`pooled` (no row, or mode pooled): the shared tables of the default database, RLS.
`dedicated`: a database of its own (`url`: PostgreSQL, as the runtime role, or an
SQLite file on the embedded default), registered at run time under `alias`, with the
same migrations and the same forced RLS policies as the default database.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from connection_mgr.sealing import SealedURLField


class Mode(models.TextChoices):
    POOLED = "pooled", _("Pooled (shared tables)")
    DEDICATED = "dedicated", _("Dedicated (its own database)")


class TenantDatabase(models.Model):
    tenant = models.OneToOneField(
        "tenancy.Tenant",
        on_delete=models.CASCADE,
        related_name="database",
        verbose_name=_("tenant"),
    )
    mode = models.CharField(
        max_length=16, choices=Mode.choices, default=Mode.POOLED, verbose_name=_("mode")
    )
    alias = models.CharField(max_length=63, unique=True, verbose_name=_("alias"))
    # The runtime role's URL (never the owner's: migrations use owner_url, kept apart).
    # Both sealed at rest under the master key (connection_mgr/sealing.py).
    url = SealedURLField(blank=True, verbose_name=_("database URL"))
    owner_url = SealedURLField(blank=True, verbose_name=_("owner URL"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    class Meta:
        verbose_name = _("tenant database")
        verbose_name_plural = _("tenant databases")

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.mode} ({self.alias})"
