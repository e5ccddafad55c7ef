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

    # Tier retention (lifecycle_mgr.retention): finished jobs age from their end.
    retention, retention_field = "jobs", "finished_at"

    kind = models.CharField(max_length=80, verbose_name=_("kind"))
    params = models.JSONField(default=dict, blank=True, verbose_name=_("params"))
    state = models.CharField(
        max_length=10, choices=JobState.choices, default=JobState.QUEUED, verbose_name=_("state")
    )
    progress_done = models.BigIntegerField(default=0, verbose_name=_("progress done"))
    progress_total = models.BigIntegerField(default=0, verbose_name=_("progress total"))
    checkpoint = models.JSONField(default=dict, blank=True, verbose_name=_("checkpoint"))
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, default="", verbose_name=_("last error"))
    cancel_requested = models.BooleanField(default=False, verbose_name=_("cancel requested"))
    worker = models.CharField(max_length=200, blank=True, default="", verbose_name=_("worker"))
    lease_token = models.CharField(
        max_length=32, blank=True, default="", verbose_name=_("lease token")
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("lease expires at")
    )
    requested_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("requested by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    # The current run's starting point (set at every claim): the rate, and so the ETA,
    # count only the work of this run over its own time, not the time a job spent failed
    # or cancelled before a resume, nor the progress an earlier run made.
    run_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("run started at"))
    run_start_done = models.BigIntegerField(default=0, verbose_name=_("done at run start"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
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
