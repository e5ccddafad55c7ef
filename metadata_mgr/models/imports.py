"""Bulk imports from JSON Lines: the uploaded file (kept until the job is done with it)
and every line it refused, with the reason."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class ImportFile(TenantScopedModel):
    id = models.UUIDField(
        primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID")
    )
    filename = models.CharField(max_length=255, blank=True, default="", verbose_name=_("filename"))
    # The file as uploaded, compressed with zstd: the job reads it from here, so any
    # worker can run or resume it.
    body = models.BinaryField(verbose_name=_("content (compressed)"))
    size_bytes = models.PositiveBigIntegerField(default=0, verbose_name=_("size (bytes)"))
    lines = models.PositiveIntegerField(default=0, verbose_name=_("lines"))
    job = models.ForeignKey(
        "jobs_mgr.Job",
        verbose_name=_("job"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="metadata_imports",
    )
    created_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("metadata import")
        verbose_name_plural = _("metadata imports")
        ordering = ["-created_at", "id"]

    def __str__(self):
        return self.filename or str(self.pk)


class ImportRejection(TenantScopedModel):
    # Not a foreign key, like a record's versions: a file of bad lines must not cost one
    # link-checking query per rejected line (tenancy's guard checks every foreign key).
    import_id = models.UUIDField()
    line = models.PositiveIntegerField()
    code = models.CharField(max_length=40)
    reason = models.CharField(max_length=500)

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("rejected import line")
        verbose_name_plural = _("rejected import lines")
        ordering = ["import_id", "line"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "import_id", "line"], name="uniq_metadata_rejection_line"
            )
        ]

    def __str__(self):
        return f"line {self.line}: {self.code}"

    @classmethod
    def conformance_values(cls) -> dict:
        return {"import_id": uuid.UUID(int=1), "line": 1}
