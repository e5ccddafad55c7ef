"""jobs_mgr.progress: percent, rate and ETA arithmetic (properties over any counts, never a
division by zero), the facts of jobs in each state, and the refusals the actions share."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from jobs_mgr import actions, engine, progress
from jobs_mgr.models import Job, JobState
from jobs_mgr.tests.conftest import COUNT
from tenancy.context import tenant_context

BIG = 2**63 - 1  # the database's bigint
counts = st.integers(min_value=-BIG, max_value=BIG)
seconds = st.floats(allow_nan=True, allow_infinity=True)
rates = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@given(done=counts, total=counts)
def test_percent_is_none_or_within_0_and_100(done, total):
    value = progress.percent(done, total)
    if total <= 0:
        assert value is None
    else:
        assert 0.0 <= value <= 100.0
        assert (value == 100.0) == (done >= total)


@given(a=counts, b=counts, total=st.integers(min_value=1, max_value=BIG))
def test_percent_is_monotone_in_done(a, b, total):
    low, high = sorted((a, b))
    assert progress.percent(low, total) <= progress.percent(high, total)


@given(done=counts, total=counts)
def test_percent_of_a_succeeded_job_is_100(done, total):
    assert progress.percent(done, total, succeeded=True) == 100.0


def test_percent_floors_to_a_tenth():
    assert progress.percent(1, 3) == 33.3
    assert progress.percent(2, 3) == 66.6
    assert progress.percent(9999, 10000) == 99.9  # never 100 before the end
    assert progress.percent(0, 0) is None


@given(items=counts, elapsed=seconds)
def test_rate_is_none_or_positive_and_finite(items, elapsed):
    value = progress.rate(items, elapsed)
    if items <= 0 or not (elapsed > 0) or elapsed == float("inf"):
        assert value is None
    else:
        assert value is None or 0 < value < float("inf")  # None: too fast to be finite


@given(done=counts, total=counts, speed=rates)
def test_eta_is_none_or_a_whole_number_of_seconds(done, total, speed):
    value = progress.eta_seconds(done, total, speed)
    if total <= 0 or speed is None or not 0 < speed < float("inf"):
        assert value is None
    elif value is not None:
        assert isinstance(value, int) and value >= 0
        if done >= total:
            assert value == 0


@given(
    a=st.integers(min_value=0, max_value=10**9),
    b=st.integers(min_value=0, max_value=10**9),
    total=st.integers(min_value=1, max_value=10**9),
    speed=st.floats(min_value=1e-6, max_value=1e9),
)
def test_eta_shrinks_as_work_gets_done(a, b, total, speed):
    low, high = sorted((a, b))
    assert progress.eta_seconds(high, total, speed) <= progress.eta_seconds(low, total, speed)


def test_eta_rounds_up():
    assert progress.eta_seconds(1, 4, 2.0) == 2  # 3 left at 2/s: 1.5 s
    assert progress.eta_seconds(4, 4, 2.0) == 0


@pytest.mark.django_db
def test_progress_facts_of_a_running_job(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 4})
        engine.run_job(job.pk, max_steps=1)
        job.refresh_from_db()
        later = job.run_started_at + dt.timedelta(seconds=10)
        facts = progress.progress_facts(job, now=later)
    assert (facts.state, facts.done, facts.total, facts.percent) == ("running", 1, 4, 25.0)
    assert facts.rate == pytest.approx(0.1)  # 1 item in the run's 10 s
    assert facts.eta_seconds == 30  # 3 left at 0.1/s
    assert facts.elapsed_seconds == 10
    assert not facts.can_resume and "running" in facts.resume_refusal
    assert facts.can_cancel and facts.cancel_refusal is None


@pytest.mark.django_db
def test_progress_facts_count_only_the_current_run(tenant_alpha):
    with tenant_context(tenant_alpha):
        job = actions.enqueue_job(COUNT, {"n": 10, "fail_at": 6})
        engine.run_job(job.pk)  # 6 steps, then fails
        # A day later it is resumed and makes 2 more steps in 4 s.
        Job.objects.filter(pk=job.pk).update(
            started_at=timezone.now() - dt.timedelta(days=1),
            state=JobState.FAILED,
        )
        actions.resume_job(job.pk)
        engine.run_job(job.pk, max_steps=2)
        job.refresh_from_db()
        facts = progress.progress_facts(job, now=job.run_started_at + dt.timedelta(seconds=4))
    assert job.run_start_done == 6 and facts.done == 8
    assert facts.rate == pytest.approx(0.5)  # the 2 items of this run over its 4 s
    assert facts.eta_seconds == 4  # 2 left at 0.5/s
    assert facts.elapsed_seconds >= 86400  # since the first start


@pytest.mark.django_db
def test_progress_facts_have_no_eta_when_it_cannot_be_known(tenant_alpha):
    with tenant_context(tenant_alpha):
        queued = actions.enqueue_job(COUNT, {"n": 3}, total=3)
        done = engine.run_job(actions.enqueue_job(COUNT, {"n": 2}).pk)
        stalled = actions.enqueue_job(COUNT, {"n": 3})
        engine.run_job(stalled.pk, max_steps=1)
        Job.objects.filter(pk=stalled.pk).update(
            lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        stalled.refresh_from_db()
        unknown = actions.enqueue_job(COUNT, {"n": 3})
        engine.run_job(unknown.pk, max_steps=1)
        Job.objects.filter(pk=unknown.pk).update(progress_total=0)
        unknown.refresh_from_db()
        facts = {
            name: progress.progress_facts(job)
            for name, job in [
                ("queued", queued),
                ("done", done),
                ("stalled", stalled),
                ("unknown", unknown),
            ]
        }
    assert facts["queued"].percent == 0.0 and facts["queued"].rate is None
    assert facts["queued"].eta_seconds is None and facts["queued"].elapsed_seconds is None
    assert facts["done"].percent == 100.0 and facts["done"].eta_seconds is None
    assert facts["done"].finished and facts["done"].rate is not None
    assert facts["stalled"].eta_seconds is None and facts["stalled"].can_resume
    assert facts["unknown"].percent is None and facts["unknown"].eta_seconds is None


@pytest.mark.django_db
def test_refusals_say_why_and_match_the_actions(tenant_alpha):
    with tenant_context(tenant_alpha):
        queued = actions.enqueue_job(COUNT, {"n": 3})
        succeeded = engine.run_job(actions.enqueue_job(COUNT, {"n": 1}).pk)
        cancelled = actions.cancel_job(actions.enqueue_job(COUNT, {"n": 1}).pk)
        orphan = actions.enqueue_job(COUNT, {"n": 1})
        Job.objects.filter(pk=orphan.pk).update(kind="gone.kind", state=JobState.FAILED)
        orphan.refresh_from_db()
        cases = [
            (queued, "resume", "job_queued", "already queued"),
            (succeeded, "resume", "job_finished", "already succeeded"),
            (succeeded, "cancel", "job_finished", "already succeeded"),
            (cancelled, "cancel", "job_finished", "already been cancelled"),
            (orphan, "resume", "unknown_kind", "gone.kind"),
        ]
        for job, verb, code, words in cases:
            facts = progress.progress_facts(job)
            allowed = facts.can_resume if verb == "resume" else facts.can_cancel
            why = facts.resume_refusal if verb == "resume" else facts.cancel_refusal
            assert not allowed and words in why, (job.pk, verb)
            change = actions.resume_job if verb == "resume" else actions.cancel_job
            with pytest.raises(actions.JobConflict) as refused:
                change(job.pk)
            assert (refused.value.code, str(refused.value)) == (code, why)
        # A cancelled job stays cancelled.
        facts = progress.progress_facts(cancelled)
        assert not facts.can_resume and "stays cancelled" in facts.resume_refusal
        with pytest.raises(actions.JobConflict) as refused:
            actions.resume_job(cancelled.pk)
        assert refused.value.code == "job_cancelled"
