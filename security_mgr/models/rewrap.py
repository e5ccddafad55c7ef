from django.db import models

from tenancy.models import TenantScopedModel


class RewrapStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RewrapJob(TenantScopedModel):
    """Re-encrypts every encrypted column of the tenant under `target_version`, in
    batches. The cursor (model, last primary key) is saved after every batch, so a
    job that stops (worker restart, failure) resumes where it was."""

    target_version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=RewrapStatus.choices, default=RewrapStatus.PENDING
    )
    models_done = models.JSONField(default=list, blank=True)
    current_model = models.CharField(max_length=100, blank=True, default="")
    last_pk = models.CharField(max_length=64, blank=True, default="")
    rows_scanned = models.BigIntegerField(default=0)
    values_rewrapped = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"rewrap to v{self.target_version} ({self.status})"

    @property
    def progress(self) -> float:
        return 1.0 if not self.rows_total else min(1.0, self.rows_scanned / self.rows_total)
