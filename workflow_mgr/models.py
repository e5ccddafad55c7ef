"""A workflow run and its step runs, both tenant-scoped (row-level security like every
scoped model): another tenant's run is simply not there.

A step run is one execution phase of one step: its action, or later its compensation.
It carries its own lease (`lease_token`, `lease_expires_at`, as `jobs_mgr.Job` does) so
a worker that dies in the middle leaves a row the sweep hands to another worker, and an
idempotency key unique in the tenant, so a re-delivered message finds the row it already
made instead of making a second one."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantScopedModel


class RunState(models.TextChoices):
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting")
    COMPENSATING = "compensating", _("Compensating")
    NEEDS_OPERATOR = "needs_operator", _("Needs an operator")
    SUCCEEDED = "succeeded", _("Succeeded")
    COMPENSATED = "compensated", _("Compensated")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


RUN_FINISHED = frozenset(
    {RunState.SUCCEEDED, RunState.COMPENSATED, RunState.FAILED, RunState.CANCELLED}
)


class Strategy(models.TextChoices):
    AUTOMATIC = "automatic", _("Automatic")
    MANUAL = "manual", _("Manual")


class Phase(models.TextChoices):
    ACTION = "action", _("Action")
    COMPENSATION = "compensation", _("Compensation")


class StepState(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


STEP_FINISHED = frozenset(
    {StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED, StepState.CANCELLED}
)


class WorkflowRun(TenantScopedModel):
    # Tier retention (lifecycle_mgr.retention): finished runs (steps cascade) age from
    # their end; a run in flight is never purged.
    retention, retention_field = "workflow_runs", "finished_at"
    # Runs (and steps) stay in the default database even for a dedicated tenant: a
    # tenant move is itself a run, and must not move the rows that drive it. Read by
    # connection_mgr's router and mover as a plain attribute (no import either way).
    stays_on_default = True

    name = models.CharField(max_length=120, verbose_name=_("workflow"))
    # The validated definition as it was when the run started: a later change to the
    # registered definition never changes a run in flight.
    definition = models.JSONField(default=dict, blank=True, verbose_name=_("definition"))
    compensation_strategy = models.CharField(
        max_length=10,
        choices=Strategy.choices,
        default=Strategy.AUTOMATIC,
        verbose_name=_("compensation strategy"),
    )
    state = models.CharField(
        max_length=16, choices=RunState.choices, default=RunState.RUNNING, verbose_name=_("state")
    )
    input = models.JSONField(default=dict, blank=True, verbose_name=_("input"))
    # Signals that arrived, by name, until a step consumes them (a signal may come first).
    signals = models.JSONField(default=dict, blank=True, verbose_name=_("signals"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    cancel_requested = models.BooleanField(default=False, verbose_name=_("cancel requested"))
    requested_by = models.CharField(
        max_length=150, blank=True, default="", verbose_name=_("requested by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("workflow run")
        verbose_name_plural = _("workflow runs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "state", "name"], name="wf_run_state")]

    def __str__(self):
        return f"{self.name} #{self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in RUN_FINISHED

    def step_names(self) -> list[str]:
        return [step["name"] for step in self.definition.get("steps", [])]


class StepRun(TenantScopedModel):
    stays_on_default = True  # see WorkflowRun

    run = models.ForeignKey(
        WorkflowRun, on_delete=models.CASCADE, related_name="steps", verbose_name=_("run")
    )
    name = models.CharField(max_length=80, verbose_name=_("step"))
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))
    phase = models.CharField(
        max_length=12, choices=Phase.choices, default=Phase.ACTION, verbose_name=_("phase")
    )
    state = models.CharField(
        max_length=10, choices=StepState.choices, default=StepState.PENDING, verbose_name=_("state")
    )
    # "<run>:<phase>:<step>": unique in the tenant, and handed to the action so that an
    # external system can refuse a second application too.
    idempotency_key = models.CharField(max_length=200, verbose_name=_("idempotency key"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    input = models.JSONField(default=dict, blank=True, verbose_name=_("input"))
    output = models.JSONField(default=dict, blank=True, verbose_name=_("output"))
    error = models.TextField(blank=True, default="", verbose_name=_("error"))
    wait_signal = models.CharField(
        max_length=80, blank=True, default="", verbose_name=_("waits for signal")
    )
    # A durable timer's end, or when the next attempt after a failure is due.
    wake_at = models.DateTimeField(null=True, blank=True, verbose_name=_("wake at"))
    worker = models.CharField(max_length=200, blank=True, default="", verbose_name=_("worker"))
    lease_token = models.CharField(
        max_length=32, blank=True, default="", verbose_name=_("lease token")
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("lease expires at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta(TenantScopedModel.Meta):
        verbose_name = _("step run")
        verbose_name_plural = _("step runs")
        ordering = ["run", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"], name="wf_step_idempotency"
            )
        ]
        indexes = [
            # The sweep: running steps whose lease expired, due timers and retries.
            models.Index(fields=["tenant", "state", "lease_expires_at"], name="wf_step_lease"),
            models.Index(fields=["tenant", "state", "wake_at"], name="wf_step_wake"),
        ]

    def __str__(self):
        return f"{self.name} ({self.phase}, {self.state})"

    @property
    def finished(self) -> bool:
        return self.state in STEP_FINISHED

    def lease_live(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.state == StepState.RUNNING
            and self.lease_expires_at is not None
            and self.lease_expires_at > now
        )
