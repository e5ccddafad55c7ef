"""Writes on jobs: request, cancel, resume, and the sweep's requeue of jobs whose worker
died. Each owns its transaction; messages to the workers leave after the commit."""

from __future__ import annotations

from celery import signature
from django.conf import settings
from django.utils import timezone

from jobs_mgr import registry
from jobs_mgr.engine import lease_duration
from jobs_mgr.models import Job, JobState
from jobs_mgr.progress import Refusal, cancel_refusal, resume_refusal
from jobs_mgr.signals import job_event
from tenancy import context
from tenancy import db as tenant_db
from tenancy.exceptions import TenantContextMissing

#: Sent by name: the task module calls these actions, so they do not import it back
#: (jobs_mgr/apps.py imports it, so the name resolves to the task in every process).
RUN_JOB_TASK = "jobs_mgr.tasks.run_job_task"


class JobConflict(Exception):
    """The job's state does not allow this (a finished job, a running one): the API's
    409, a message on the console's page. The sentences are `jobs_mgr.progress`'s, the
    same the pages show beside a button they leave out."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code

    @classmethod
    def of(cls, refusal: Refusal) -> JobConflict:
        return cls(refusal.code, refusal.message)


def _send_after_commit(job_id: int) -> None:
    # The message carries the sender's tenant (tenancy.celery_guard); the commit may
    # come after the caller left the tenant's context, so the callback re-enters it.
    tenant = context.get_current_tenant()
    if tenant is None:
        raise TenantContextMissing("a job is sent from its tenant's context")

    def send() -> None:
        with context.tenant_context(tenant):
            signature(RUN_JOB_TASK, args=(job_id,)).delay()

    tenant_db.on_commit(None, send)


def _locked(job_id: int) -> Job:
    """The caller's tenant's job, locked; Job.DoesNotExist (a 404) for any other id."""
    return Job.objects.select_for_update().get(pk=job_id)


def enqueue_job(
    kind: str, params: dict | None = None, *, total: int = 0, actor: str = "", send: bool = True
) -> Job:
    """A new queued job of the current tenant; a worker starts it after the commit
    (`send=False`: the caller runs it itself with `engine.run_job`, as benchmarks do; the
    sweep still sends it if it is left queued)."""
    registry.get(kind)  # an unknown kind fails here, not in a worker
    with tenant_db.atomic():
        job = Job.objects.create(
            kind=kind, params=params or {}, progress_total=total, requested_by=actor[:150]
        )
        job_event.send(Job, job=job, event="requested", actor=actor)
        if send:
            _send_after_commit(job.pk)
    return job


def cancel_job(job_id: int, *, actor: str = "") -> Job:
    """Stop a job. Queued, or running with an expired lease (no worker to notice): it
    is cancelled now. Running: `cancel_requested`, honoured at its next step."""
    now = timezone.now()
    with tenant_db.atomic():
        job = _locked(job_id)
        refusal = cancel_refusal(job)
        if refusal is not None:
            raise JobConflict.of(refusal)
        if job.lease_live(now):
            if not job.cancel_requested:
                job.cancel_requested = True
                job.updated_at = now
                job.save(update_fields=["cancel_requested", "updated_at"])
                job_event.send(Job, job=job, event="cancel_requested", actor=actor)
            return job
        job.state = JobState.CANCELLED
        job.cancel_requested = False
        job.lease_expires_at = None
        job.finished_at = job.updated_at = now
        job.save(
            update_fields=[
                "state",
                "cancel_requested",
                "lease_expires_at",
                "finished_at",
                "updated_at",
            ]
        )
        job_event.send(Job, job=job, event="cancelled", actor=actor)
    return job


def resume_job(job_id: int, *, actor: str = "") -> Job:
    """Queue a failed or abandoned job again; it continues from its last checkpoint. A
    cancelled job, one a worker holds, one already queued, one that succeeded and one of
    a kind no longer registered are refused (`progress.resume_refusal`)."""
    now = timezone.now()
    with tenant_db.atomic():
        job = _locked(job_id)
        refusal = resume_refusal(job, now)
        if refusal is not None:
            raise JobConflict.of(refusal)
        job.state = JobState.QUEUED
        job.cancel_requested = False
        job.lease_expires_at = None
        job.finished_at = None
        job.updated_at = now
        job.save(
            update_fields=[
                "state",
                "cancel_requested",
                "lease_expires_at",
                "finished_at",
                "updated_at",
            ]
        )
        job_event.send(Job, job=job, event="resumed", actor=actor)
        _send_after_commit(job.pk)
    return job


def max_attempts() -> int:
    return int(getattr(settings, "JOBS_MAX_ATTEMPTS", 5))


def requeue_stale_jobs() -> list[int]:
    """The sweep, in the current tenant: every running job whose lease expired goes back
    to the queue (its worker died) and a worker is asked to continue it; one whose
    workers died `JOBS_MAX_ATTEMPTS` times fails instead. A queued job nobody picked up
    within a lease (its message was lost) is sent again. Returns the ids sent."""
    now = timezone.now()
    sent = []
    with tenant_db.atomic():
        # skip_locked: a job whose row is locked is inside a step right now: alive.
        stale = Job.objects.select_for_update(skip_locked=True).filter(
            state=JobState.RUNNING, lease_expires_at__lt=now
        )
        for job in stale:
            expired = job.lease_expires_at.isoformat()
            if job.attempts >= max_attempts():
                job.state = JobState.FAILED
                job.finished_at = now
                job.last_error = (
                    f"gave up: its worker was lost {job.attempts} times (last lease expired "
                    f"at {expired}); resume it to try again"
                )
                event = "failed"
            else:
                job.state = JobState.QUEUED
                job.last_error = (
                    f"worker {job.worker} stopped answering (lease expired at {expired}); "
                    f"requeued to continue from its checkpoint ({job.progress_done}/"
                    f"{job.progress_total})"
                )
                event = "requeued"
                sent.append(job.pk)
            job.lease_expires_at = None
            job.updated_at = now
            job.save(
                update_fields=[
                    "state",
                    "finished_at",
                    "last_error",
                    "lease_expires_at",
                    "updated_at",
                ]
            )
            job_event.send(Job, job=job, event=event, actor="sweep")
        lost = Job.objects.select_for_update(skip_locked=True).filter(
            state=JobState.QUEUED, updated_at__lt=now - lease_duration()
        )
        for job in lost:
            job.updated_at = now  # once per lease, not at every sweep
            job.save(update_fields=["updated_at"])
            sent.append(job.pk)
        for job_id in sent:
            _send_after_commit(job_id)
    return sent
