"""The job engine: steps commit with their checkpoint, a failed step leaves nothing,
cancel is honoured at the next step, a lost lease commits nothing, and the sweep
requeues exactly the jobs whose worker died."""

import datetime as dt

import pytest
from django.utils import timezone

from audit_mgr.models import AuditEntry
from jobs_mgr import actions, engine
from jobs_mgr.models import Job, JobState
from jobs_mgr.tests.conftest import COUNT, steps_done
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _expire(job):
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))


def test_run_job_checkpoints_every_step_and_succeeds(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 4}, actor="alice")
        assert job.state == JobState.QUEUED and job.requested_by == "alice"
        job = engine.run_job(job.pk)
        assert job.state == JobState.SUCCEEDED and job.result == {"counted": 4}
        assert (job.progress_done, job.progress_total, job.progress) == (4, 4, 1.0)
        assert job.checkpoint == {"i": 4} and job.attempts == 1
        assert job.lease_expires_at is None and job.heartbeat_at and job.finished_at
        assert len(steps_done(job)) == 4


def test_a_failed_step_leaves_nothing_and_resume_continues_from_the_checkpoint(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 5, "fail_at": 2})
        job = engine.run_job(job.pk)
        assert job.state == JobState.FAILED and job.last_error == "RuntimeError: step 2 broke"
        assert job.checkpoint == {"i": 2} and job.progress_done == 2
        assert steps_done(job) == [f"job-{job.pk}-step-0", f"job-{job.pk}-step-1"]
        assert actions.resume_job(job.pk).state == JobState.QUEUED
        job = engine.run_job(job.pk)
        assert job.state == JobState.SUCCEEDED and job.attempts == 2
        assert steps_done(job) == [f"job-{job.pk}-step-{i}" for i in range(5)]  # each once


def test_cancel_is_honoured_at_the_next_step(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 6, "cancel_at": 1})
        job = engine.run_job(job.pk)
        assert job.state == JobState.CANCELLED and not job.cancel_requested
        # The step running when the cancel came completed; the next one never started.
        assert job.checkpoint == {"i": 2}
        assert len(steps_done(job)) == 2
        with pytest.raises(actions.JobConflict, match="cancelled"):
            actions.cancel_job(job.pk)
        # Cancelled stays cancelled: resuming is refused, and a late message runs nothing.
        with pytest.raises(actions.JobConflict, match="stays cancelled"):
            actions.resume_job(job.pk)
        assert engine.run_job(job.pk).state == JobState.CANCELLED
        assert len(steps_done(job)) == 2


def test_cancel_of_a_queued_or_abandoned_job_is_immediate(tenant_alpha):
    with tenant_context(tenant_alpha):
        queued = actions.enqueue_job(COUNT, {"n": 3})
        assert actions.cancel_job(queued.pk).state == JobState.CANCELLED
        assert engine.run_job(queued.pk).state == JobState.CANCELLED  # a late message
        assert steps_done(queued) == []
        abandoned = actions.enqueue_job(COUNT, {"n": 3})
        engine.run_job(abandoned.pk, max_steps=1)  # its worker dies after one step
        live = actions.cancel_job(abandoned.pk)
        assert live.state == JobState.RUNNING and live.cancel_requested  # lease still live
        _expire(abandoned)
        assert actions.cancel_job(abandoned.pk).state == JobState.CANCELLED


def test_a_worker_that_lost_its_lease_commits_nothing(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 3})
        slow = engine.claim(job.pk)  # a worker that then pauses past its lease
        assert engine.claim(job.pk) is None  # held: nobody else takes it
        _expire(job)
        fast = engine.claim(job.pk)  # another worker takes it over
        assert fast.lease_token != slow.lease_token and fast.attempts == 2
        ctx = engine.JobContext(slow)
        with pytest.raises(engine.LeaseLost):
            with ctx.step():
                pass
        with pytest.raises(engine.LeaseLost):
            ctx.heartbeat()
        assert steps_done(job) == []


def test_resume_refuses_a_job_a_worker_holds_or_that_succeeded(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 3})
        engine.run_job(job.pk, max_steps=1)
        with pytest.raises(actions.JobConflict, match="running") as held:
            actions.resume_job(job.pk)
        assert held.value.code == "job_running"
        _expire(job)
        actions.resume_job(job.pk)
        assert engine.run_job(job.pk).state == JobState.SUCCEEDED
        with pytest.raises(actions.JobConflict, match="succeeded"):
            actions.resume_job(job.pk)


def test_sweep_requeues_only_jobs_whose_lease_expired(tenant_alpha, tenant_beta, settings):
    settings.JOBS_MAX_ATTEMPTS = 2
    with tenant_context(tenant_alpha):
        alive = actions.enqueue_job(COUNT, {"n": 3})
        engine.run_job(alive.pk, max_steps=1)  # running, lease live
        dead = actions.enqueue_job(COUNT, {"n": 3})
        engine.run_job(dead.pk, max_steps=1)
        _expire(dead)
        queued = actions.enqueue_job(COUNT, {"n": 3})  # its message is on its way
        assert actions.requeue_stale_jobs() == [dead.pk]
        dead.refresh_from_db()
        assert dead.state == JobState.QUEUED and dead.lease_expires_at is None
        assert "stopped answering" in dead.last_error and "(1/3)" in dead.last_error
        alive.refresh_from_db()
        assert alive.state == JobState.RUNNING
        # A job whose workers keep dying gives up, saying so.
        engine.run_job(dead.pk, max_steps=0)
        _expire(dead)
        assert actions.requeue_stale_jobs() == []
        dead.refresh_from_db()
        assert dead.state == JobState.FAILED and "lost 2 times" in dead.last_error
        # A queued job nobody picked up within a lease (its message lost) is sent again.
        Job.objects.filter(pk=queued.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
        assert actions.requeue_stale_jobs() == [queued.pk]
        assert actions.requeue_stale_jobs() == []  # once per lease, not at every sweep
    with tenant_context(tenant_beta):
        assert actions.requeue_stale_jobs() == []  # another tenant's jobs are not its own


def test_job_events_are_appended_to_the_tenant_audit_log(tenant_alpha):
    import audit_mgr as audit

    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 1}, actor="alice")
        engine.run_job(job.pk)
        audit.flush()
        events = list(
            AuditEntry.objects.filter(event__startswith="job.").values_list("event", "actor")
        )
        assert events == [("job.requested", "alice"), ("job.succeeded", "")]


def test_an_unknown_kind_is_refused_before_anything_is_queued(tenant_alpha):
    from jobs_mgr.registry import UnknownJobKind

    with tenant_context(tenant_alpha):
        with pytest.raises(UnknownJobKind):
            actions.enqueue_job("no.such.kind")
        assert not Job.objects.exists()
