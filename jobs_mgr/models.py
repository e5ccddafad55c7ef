from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class Job(TenantScopedModel):
    """One long job of a tenant. `state` is the truth the API and the admin show: a job
    whose worker died is `running` only until its lease expires, then the sweep makes it
    `queued` again (saying why in `last_error`) until a worker picks it up.

    The lease is fenced: a worker holds `lease_token` and every step checks it under the
    row's lock, so a worker that lost its lease (paused, then resumed) can never commit
    a step after another worker took the job over."""

    kind = models.CharField(max_length=80)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    checkpoint = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True, default="")
    lease_token = models.CharField(max_length=32, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The current run's starting point (set at every claim): the rate, and so the ETA,
    # count only the work of this run over its own time, not the time a job spent failed
    # or cancelled before a resume, nor the progress an earlier run made.
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_start_done = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantScopedModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep: running jobs whose lease expired, per tenant.
            models.Index(fields=["tenant", "state", "lease_expires_at"], name="jobs_state_lease")
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def progress(self) -> float:
        """Done over total, from 0 to 1 (1 once succeeded, whatever the counts say)."""
        if self.state == JobState.SUCCEEDED:
            return 1.0
        if not self.progress_total:
            return 0.0
        return min(1.0, self.progress_done / self.progress_total)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def lease_live(self, now=None) -> bool:
        """Is a worker holding this job right now (running, lease not expired)?"""
        now = now or timezone.now()
        return (
            self.state == JobState.RUNNING
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )
