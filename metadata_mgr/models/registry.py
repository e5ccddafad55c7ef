"""The tenant's schema registry: subjects and their numbered versions (JSON Schema)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class CompatibilityMode(models.TextChoices):
    """Confluent Schema Registry's modes. BACKWARD: consumers on the new schema read
    data written with the latest one; FORWARD: consumers on the latest read data of the
    new one; FULL: both; `_TRANSITIVE`: against every earlier version, not only the
    latest; NONE: no check."""

    BACKWARD = "BACKWARD", "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE", "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD", "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE", "FORWARD_TRANSITIVE"
    FULL = "FULL", "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE", "FULL_TRANSITIVE"
    NONE = "NONE", "NONE"


# Confluent's default, used when neither the subject nor the tenant sets one.
DEFAULT_MODE = CompatibilityMode.BACKWARD
# The tenant setting holding the tenant's default mode: "FULL" or {"mode": "FULL"}.
MODE_SETTING = "metadata.compatibility"


class Subject(TenantScopedModel):
    name = models.CharField(_("name"), max_length=255)
    # Empty: the tenant's default (setting MODE_SETTING), else DEFAULT_MODE.
    compatibility = models.CharField(
        _("compatibility mode"),
        max_length=20,
        choices=CompatibilityMode.choices,
        blank=True,
        default="",
    )
    open_content_aware = models.BooleanField(
        _("open-content aware"),
        default=False,
        help_text=_(
            "Accept adding an optional property when no stored record of the subject "
            "would break (checked against the records)."
        ),
    )
    description = models.CharField(
        max_length=500, blank=True, default="", verbose_name=_("description")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("schema subject")
        verbose_name_plural = _("schema subjects")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="uniq_metadata_subject")
        ]

    def __str__(self):
        return self.name


class SubjectVersion(TenantScopedModel):
    """A registered schema: immutable once written. `fingerprint` is the SHA-256 of
    the canonical JSON, so registering the same schema again finds this version."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    schema = models.JSONField()
    fingerprint = models.CharField(max_length=64)
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("schema version")
        verbose_name_plural = _("schema versions")
        ordering = ["subject", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "subject", "version"], name="uniq_metadata_subject_version"
            ),
            models.UniqueConstraint(
                fields=["tenant", "subject", "fingerprint"], name="uniq_metadata_subject_schema"
            ),
        ]

    def __str__(self):
        return f"{self.subject_id} v{self.version}"

    @classmethod
    def conformance_values(cls) -> dict:
        return {"schema": {"type": "object"}, "fingerprint": "0" * 64, "version": 1}
