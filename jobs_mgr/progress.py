"""What a job's progress means right now, computed from its row (a selector: it reads,
never writes): percent, rate, ETA, elapsed time, and whether resume and cancel are
allowed now and, when not, why. The API, the console pages, their live JSON and the
admin show these same facts, and the actions refuse with the same sentences.

Definitions (docs/operations.md, "Job progress"):
- percent: `progress_done / progress_total`, floored to a tenth and clamped to 0..100;
  100 once the job succeeded; None while the total is unknown (0).
- rate: the items done in the current (or, once finished, the last) run divided by that
  run's time (`run_started_at`, set at every claim, to now or to `finished_at`). Work
  of earlier runs and time spent failed, cancelled or queued are not counted. None
  until the run has made progress, and for a queued job.
- ETA: the items left divided by the rate, rounded up to a second; only while a worker
  holds the job (running, lease live), so None when the total is unknown, before the
  first progress of the run, for a queued or finished job and for one whose worker
  stopped answering.
- elapsed: from the job's first start to now (or to its end).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from jobs_mgr import registry
from jobs_mgr.models import FINISHED, Job, JobState


@dataclass(frozen=True)
class Refusal:
    code: str  # machine-readable, the API's error code
    message: str  # one sentence for people


@dataclass(frozen=True)
class ProgressFacts:
    id: int
    state: str
    finished: bool
    done: int
    total: int
    percent: float | None
    rate: float | None
    eta_seconds: int | None
    elapsed_seconds: int | None
    can_resume: bool
    resume_refusal: str | None
    can_cancel: bool
    cancel_refusal: str | None

    def as_dict(self) -> dict:
        return asdict(self)


# --- the arithmetic (pure, property-tested) ----------------------------------------------


def percent(done: int, total: int, *, succeeded: bool = False) -> float | None:
    """Floored to a tenth, so 100.0 only when everything is done (integer arithmetic:
    exact for any count, monotone in `done`)."""
    if succeeded:
        return 100.0
    if total <= 0:
        return None
    done = min(max(done, 0), total)
    return (done * 1000 // total) / 10


def rate(items: int, seconds: float) -> float | None:
    """Items per second, or None when there is nothing to measure yet."""
    if items <= 0 or not seconds > 0 or not math.isfinite(seconds):
        return None
    value = items / seconds
    return value if math.isfinite(value) else None  # JSON has no Infinity


def eta_seconds(done: int, total: int, items_per_second: float | None) -> int | None:
    """Seconds left at the measured rate, rounded up; None when it cannot be known."""
    if total <= 0 or items_per_second is None or not 0 < items_per_second < math.inf:
        return None
    remaining = max(total - max(done, 0), 0)
    seconds = remaining / items_per_second
    if not math.isfinite(seconds):
        return None
    return math.ceil(seconds)


# --- what may be done with the job now --------------------------------------------------


def resume_refusal(job: Job, now: dt.datetime | None = None) -> Refusal | None:
    """Why the job cannot be resumed now, or None: a failed job, or one whose worker
    stopped answering, can be; it then continues from its last checkpoint. A cancelled job
    stays cancelled: someone decided it should not run, and resuming would silently undo
    that decision (start a new job instead)."""
    now = now or timezone.now()
    if job.state == JobState.SUCCEEDED:
        return Refusal(
            "job_finished", _("The job has already succeeded: there is nothing left to resume.")
        )
    if job.state == JobState.CANCELLED:
        return Refusal(
            "job_cancelled",
            _("The job was cancelled and stays cancelled: start a new job to run it again."),
        )
    if job.lease_live(now):
        return Refusal(
            "job_running",
            _("The job is running (worker %(worker)s holds it); cancel it first.")
            % {"worker": job.worker or "?"},
        )
    if job.state == JobState.QUEUED:
        return Refusal("job_queued", _("The job is already queued: a worker will pick it up."))
    try:
        registry.get(job.kind)
    except registry.UnknownJobKind:
        return Refusal(
            "unknown_kind",
            _("No worker of this version runs jobs of kind “%(kind)s”.") % {"kind": job.kind},
        )
    return None


def cancel_refusal(job: Job) -> Refusal | None:
    """Why the job cannot be cancelled, or None (a queued or running job can be)."""
    message = {
        JobState.SUCCEEDED: _("The job has already succeeded."),
        JobState.FAILED: _("The job has already failed (resume it to try again)."),
        JobState.CANCELLED: _("The job has already been cancelled."),
    }.get(job.state)
    return Refusal("job_finished", message) if message else None


def _cancel_note(job: Job, now: dt.datetime) -> str | None:
    """Why a cancel would change nothing now (the action still accepts it, idempotently)."""
    refusal = cancel_refusal(job)
    if refusal is not None:
        return refusal.message
    if job.cancel_requested and job.lease_live(now):
        return _("A cancel was already requested: the job stops at its next step.")
    return None


# --- the facts -----------------------------------------------------------------------------


def _seconds(start, end) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def progress_facts(job: Job, now: dt.datetime | None = None) -> ProgressFacts:
    now = now or timezone.now()
    finished = job.state in FINISHED
    run_rate = None
    if job.state == JobState.RUNNING or finished:
        # Rows from before the run columns existed: the first start, all progress.
        start = job.run_started_at or job.started_at
        start_done = job.run_start_done if job.run_started_at else 0
        end = job.finished_at if finished else now
        run_rate = rate(job.progress_done - start_done, _seconds(start, end) or 0.0)
    eta = (
        eta_seconds(job.progress_done, job.progress_total, run_rate)
        if job.lease_live(now)
        else None
    )
    elapsed = _seconds(job.started_at, job.finished_at if finished else now)
    resume = resume_refusal(job, now)
    cancel = _cancel_note(job, now)
    return ProgressFacts(
        id=job.pk,
        state=str(job.state),
        finished=finished,
        done=job.progress_done,
        total=job.progress_total,
        percent=percent(
            job.progress_done, job.progress_total, succeeded=job.state == JobState.SUCCEEDED
        ),
        rate=run_rate,
        eta_seconds=eta,
        elapsed_seconds=None if elapsed is None else max(int(elapsed), 0),
        can_resume=resume is None,
        resume_refusal=None if resume is None else resume.message,
        can_cancel=cancel is None,
        cancel_refusal=cancel,
    )
