"""Running a job: claim it under a lease, let its kind's runner advance it step by step,
then record how it ended.

A step is one transaction that starts by locking the job's row and checking that this
worker still holds the lease (`lease_token`) and that nobody asked to cancel; the
runner does its work inside it and stages its checkpoint with `ctx.save()`, written
with a fresh heartbeat and lease as the step ends. So the work of a step and its
checkpoint commit together or not at all: a worker killed in the middle of a step
leaves the previous checkpoint, and the next worker redoes exactly that step.

A step must end well within the lease (`JOBS_LEASE_SECONDS`, 60 s); a runner with a
long stretch outside steps calls `ctx.heartbeat()`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone

from jobs_mgr import registry
from jobs_mgr.models import Job, JobState
from jobs_mgr.signals import job_event
from tenancy import db as tenant_db

log = logging.getLogger("dim.jobs")


class JobCancelled(Exception):
    """Raised at the start of a step when a cancel was requested: the job stops there."""


class LeaseLost(Exception):
    """Another worker took the job over (this one's lease expired): stop, commit nothing."""


class Interrupted(Exception):
    """`max_steps` reached: stop as a killed worker would (tests and benchmarks)."""


def lease_duration() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "JOBS_LEASE_SECONDS", 60.0)))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _locked(job_id: int) -> Job | None:
    # The scoped manager: a job of another tenant is simply not there.
    return Job.objects.select_for_update().filter(pk=job_id).first()


class JobContext:
    """What a runner gets: the job's params, its last checkpoint, and steps."""

    def __init__(self, job: Job, *, max_steps: int | None = None, options: dict | None = None):
        self.job = job
        self.params = dict(job.params or {})
        self.checkpoint = dict(job.checkpoint or {})
        self.options = dict(options or {})  # per run, not stored (e.g. a batch size)
        self.done, self.total = job.progress_done, job.progress_total
        self._token = job.lease_token
        self._steps = 0
        self._max_steps = max_steps

    @contextmanager
    def step(self):
        """One transaction holding the job's row; see the module's docstring."""
        if self._max_steps is not None and self._steps >= self._max_steps:
            raise Interrupted
        with tenant_db.atomic():
            self._hold()
            yield self
            self._write()
        self._steps += 1

    def save(self, checkpoint: dict | None = None, *, done=None, total=None) -> None:
        """Stage the checkpoint and progress; the step writes them when it ends."""
        if checkpoint is not None:
            self.checkpoint = checkpoint
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total

    def heartbeat(self) -> None:
        """Extend the lease outside a step (fenced like a step)."""
        now = timezone.now()
        updated = Job.objects.filter(
            pk=self.job.pk, lease_token=self._token, state=JobState.RUNNING
        ).update(heartbeat_at=now, lease_expires_at=now + lease_duration(), updated_at=now)
        if not updated:
            raise LeaseLost(f"job {self.job.pk}: the lease was taken over")

    def _hold(self) -> None:
        row = (
            Job.objects.select_for_update()
            .filter(pk=self.job.pk)
            .values_list("state", "lease_token", "cancel_requested")
            .first()
        )
        if row is None or row[0] != JobState.RUNNING or row[1] != self._token:
            raise LeaseLost(f"job {self.job.pk}: the lease was taken over")
        if row[2]:
            raise JobCancelled

    def _write(self) -> None:
        now = timezone.now()
        Job.objects.filter(pk=self.job.pk, lease_token=self._token).update(
            checkpoint=self.checkpoint,
            progress_done=self.done,
            progress_total=self.total,
            heartbeat_at=now,
            lease_expires_at=now + lease_duration(),
            updated_at=now,
        )


def claim(job_id: int) -> Job | None:
    """Take the job's lease: a queued job, a running one whose lease expired (its
    worker died), never one another worker holds or one that is finished."""
    now = timezone.now()
    with tenant_db.atomic():
        job = _locked(job_id)
        if job is None or job.finished or job.lease_live(now):
            return None
        if job.cancel_requested:
            _end(job, JobState.CANCELLED, now)
            return None
        job.state = JobState.RUNNING
        job.attempts += 1
        job.lease_token = secrets.token_hex(16)
        job.worker = worker_name()
        job.heartbeat_at = now
        job.lease_expires_at = now + lease_duration()
        job.started_at = job.started_at or now
        job.run_started_at, job.run_start_done = now, job.progress_done
        job.updated_at = now
        job.save(
            update_fields=[
                "state",
                "attempts",
                "lease_token",
                "worker",
                "heartbeat_at",
                "lease_expires_at",
                "started_at",
                "run_started_at",
                "run_start_done",
                "updated_at",
            ]
        )
    return job


def _end(job: Job, state: str, now, *, error: str = "", result: dict | None = None) -> None:
    """Record how the job ended (the caller holds its row)."""
    job.state = state
    job.finished_at = now
    job.updated_at = now
    job.lease_expires_at = None
    job.cancel_requested = False
    fields = ["state", "finished_at", "updated_at", "lease_expires_at", "cancel_requested"]
    if error:
        job.last_error = error[:4000]
        fields.append("last_error")
    if result is not None:
        job.result = result
        fields.append("result")
    job.save(update_fields=fields)
    job_event.send(Job, job=job, event=state, actor="")


def _finish(ctx: JobContext, state: str, **outcome) -> None:
    with tenant_db.atomic():
        job = _locked(ctx.job.pk)
        if job is None or job.state != JobState.RUNNING or job.lease_token != ctx._token:
            return  # taken over meanwhile: the other worker reports the outcome
        _end(job, state, timezone.now(), **outcome)


def run_job(job_id: int, *, max_steps: int | None = None, options: dict | None = None) -> Job:
    """Claim the job and run it to its end (or to `max_steps` steps); returns the job as
    it is afterwards. A job that is held, finished or missing is left alone."""
    job = claim(job_id)
    if job is None:
        return Job.objects.filter(pk=job_id).first()
    ctx = JobContext(job, max_steps=max_steps, options=options)
    try:
        result = registry.get(job.kind).runner(ctx)
    except Interrupted:
        pass  # running, its lease left to expire: what a dead worker leaves behind
    except JobCancelled:
        _finish(ctx, JobState.CANCELLED)
    except LeaseLost:
        log.warning("job_lease_lost", extra={"job": job.pk, "kind": job.kind})
    except Exception as exc:  # noqa: BLE001  (recorded on the job; resume retries it)
        log.exception("job_failed", extra={"job": job.pk, "kind": job.kind})
        _finish(ctx, JobState.FAILED, error=f"{type(exc).__name__}: {exc}")
    else:
        _finish(ctx, JobState.SUCCEEDED, result=result or {})
    return Job.objects.filter(pk=job_id).first()
