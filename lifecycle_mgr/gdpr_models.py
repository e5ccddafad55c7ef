"""GDPR tables (issue 16): export archives (Art. 15/20) and erasure certificates
(Art. 17). Both are tenant-scoped: tenant A never sees B's archive or certificate.

An archive's body is stored as encrypted chunks (`ExportChunk`), one per job step, so a
worker that dies mid-export resumes after the last committed chunk. The per-export key is
sealed with the tenant's key ring (`tenancy.hooks.seal_tenant_value`): shredding the
tenant's keys makes a forgotten archive unreadable too.

A certificate row is a copy of the signed audit entry (the evidence is the entry; the row
lets the console list certificates without reading the log). Erasure never purges these
tables' certificates: they outlive the data they describe."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class ExportState(models.TextChoices):
    RUNNING = "running", _("Running")
    READY = "ready", _("Ready")
    DOWNLOADED = "downloaded", _("Downloaded")
    FAILED = "failed", _("Failed")
    # The link expired before anyone downloaded it; the sweep deleted its pieces.
    EXPIRED = "expired", _("Expired")


class ExportArchive(TenantScopedModel):
    job = models.ForeignKey(
        "jobs_mgr.Job", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("job")
    )
    # Empty: the whole tenant; else the data subject of an Art. 15 export. No database
    # constraint: users live in the default database only, and a dedicated tenant's
    # database holds none; SET_NULL there is lifecycle_mgr.exports.forget_deleted_user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
        verbose_name=_("user"),
    )
    state = models.CharField(
        max_length=12,
        choices=ExportState.choices,
        default=ExportState.RUNNING,
        verbose_name=_("state"),
    )
    sealed_key = models.BinaryField(verbose_name=_("sealed key"))
    # Part of the signed download link; a new nonce would void links already handed out.
    link_nonce = models.CharField(max_length=32, verbose_name=_("link nonce"))
    manifest = models.JSONField(default=dict, blank=True, verbose_name=_("manifest"))
    size_bytes = models.BigIntegerField(default=0, verbose_name=_("size (bytes)"))
    requested_by = models.CharField(max_length=150, blank=True, verbose_name=_("requested by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    ready_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ready at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("link expires at"))
    downloaded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("downloaded at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("export archive")
        verbose_name_plural = _("export archives")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One running export per tenant: the second request is a 409, even in a race.
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(state="running"),
                name="lifecycle_one_running_export",
            )
        ]

    def __str__(self) -> str:
        return f"export #{self.pk} ({self.state})"


class ExportChunk(TenantScopedModel):
    """One encrypted piece of an archive: AES-GCM under the export's key, bound to the
    export, its position and its file name (associated data)."""

    export = models.ForeignKey(
        ExportArchive, on_delete=models.CASCADE, related_name="chunks", verbose_name=_("export")
    )
    position = models.PositiveIntegerField(verbose_name=_("position"))
    name = models.CharField(max_length=200, verbose_name=_("file name"))
    body = models.BinaryField(verbose_name=_("body"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("export chunk")
        verbose_name_plural = _("export chunks")
        constraints = [
            models.UniqueConstraint(fields=["export", "position"], name="lifecycle_chunk_position")
        ]

    @classmethod
    def conformance_values(cls):
        # Distinct positions in each tenant's row: the isolation suite's raw re-link to the
        # other tenant's export must meet the tenant foreign key, not this unique key.
        import secrets

        return {"position": secrets.randbelow(2**31)}


class ErasureCertificate(TenantScopedModel):
    # Kept as a number, not a foreign key: the user row may be gone with the data.
    subject_user_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("user id"))
    receipt = models.JSONField(verbose_name=_("receipt"))
    signature = models.JSONField(verbose_name=_("signature"))
    entry_seq = models.BigIntegerField(verbose_name=_("audit entry"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("erasure certificate")
        verbose_name_plural = _("erasure certificates")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        scope = f"user {self.subject_user_id}" if self.subject_user_id else "tenant"
        return f"erasure certificate #{self.pk} ({scope})"
