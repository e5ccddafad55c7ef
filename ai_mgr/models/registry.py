"""A tenant's registry: models, their versions, aliases (champion, challenger, custom)
and the alias history, which answers "which version served on date D"."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ai_mgr.models.base import AliasFields, ModelFields, VersionFields
from tenancy.models import TenantScopedModel


class MLModel(ModelFields, TenantScopedModel):
    class Meta(TenantScopedModel.Meta):
        verbose_name = _("AI model")
        verbose_name_plural = _("AI models")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_ai_model_name")
        ]
        ordering = ["name"]


class ModelVersion(VersionFields, TenantScopedModel):
    model = models.ForeignKey(
        MLModel, on_delete=models.CASCADE, related_name="versions", verbose_name=_("model")
    )

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "model", "number"], name="uniq_ai_version_number"
            )
        ]
        ordering = ["-number"]


class ModelAlias(AliasFields, TenantScopedModel):
    model = models.ForeignKey(
        MLModel, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("model")
    )
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="aliases", verbose_name=_("version")
    )

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("model alias")
        verbose_name_plural = _("model aliases")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "model", "name"], name="uniq_ai_alias")
        ]
        ordering = ["name"]


class AliasEvent(TenantScopedModel):
    """One move of an alias (promote, rollback): the history the served-at question
    reads. Only ever inserted by ai_mgr.actions; each row has its audit-log entry, which
    is the tamper-evident record."""

    model = models.ForeignKey(
        MLModel, on_delete=models.DO_NOTHING, related_name="alias_events", verbose_name=_("model")
    )
    alias = models.SlugField(max_length=40, verbose_name=_("alias"))
    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.DO_NOTHING,
        related_name="alias_events",
        verbose_name=_("version"),
    )
    previous = models.ForeignKey(
        ModelVersion,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="superseded_events",
        verbose_name=_("previous version"),
    )
    action = models.CharField(max_length=20, verbose_name=_("action"))
    at = models.DateTimeField(default=timezone.now, verbose_name=_("at"))
    actor = models.CharField(max_length=150, blank=True, default="", verbose_name=_("actor"))
    reason = models.CharField(max_length=300, blank=True, default="", verbose_name=_("reason"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("alias event")
        verbose_name_plural = _("alias events")
        indexes = [models.Index(fields=["tenant", "model", "alias", "at"], name="ai_alias_at")]
        ordering = ["-at", "-id"]
