"""Platform-wide models (one for every tenant, e.g. a search encoder): the same shape
as a tenant's, not tenant-scoped, written under `platform_access()` only and signed with
the platform's key. Tenants read them; they never read a tenant's."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from ai_mgr.models.base import AliasFields, ModelFields, VersionFields


class SharedModel(ModelFields):
    class Meta:
        verbose_name = _("shared AI model")
        verbose_name_plural = _("shared AI models")
        constraints = [models.UniqueConstraint(fields=["name"], name="uniq_ai_shared_name")]
        ordering = ["name"]


class SharedModelVersion(VersionFields):
    model = models.ForeignKey(
        SharedModel, on_delete=models.CASCADE, related_name="versions", verbose_name=_("model")
    )

    class Meta:
        verbose_name = _("shared model version")
        verbose_name_plural = _("shared model versions")
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="uniq_ai_shared_number")
        ]
        ordering = ["-number"]


class SharedAlias(AliasFields):
    model = models.ForeignKey(
        SharedModel, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("model")
    )
    version = models.ForeignKey(
        SharedModelVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("version")
    )

    class Meta:
        verbose_name = _("shared model alias")
        verbose_name_plural = _("shared model aliases")
        constraints = [
            models.UniqueConstraint(fields=["model", "name"], name="uniq_ai_shared_alias")
        ]
        ordering = ["name"]
