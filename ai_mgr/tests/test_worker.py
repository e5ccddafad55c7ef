"""Training on a real Celery worker (its own thread and database connection): the job
is sent when its row commits, the worker trains, the champion serves; a job that fails
in the worker leaves the champion in place."""

import pytest
from celery import signature

from ai_mgr import inference, loader, training
from ai_mgr.tests.factories import metric_rows
from jobs_mgr.actions import RUN_JOB_TASK
from jobs_mgr.models import Job, JobState
from tenancy.context import tenant_context
from tests.markers import postgres_only
from tests.outages import wait_until

pytestmark = postgres_only("a worker thread reading committed rows on its own connection")
ROW = {"cpu": 0.4, "latency_ms": 20.0, "rps": 100.0}


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    from tenancy.models import Tenant
    from tests.committed import delete_committed_tenant

    with django_db_blocker.unblock():
        tenant = Tenant.objects.create(slug="ai-worker", name="AI worker")
        yield tenant
        delete_committed_tenant(tenant.pk)
    loader.forget_all()


def _finished(job_id: int) -> Job:
    wait_until(
        lambda: Job.objects.get(pk=job_id).state in (JobState.SUCCEEDED, JobState.FAILED),
        f"job {job_id} to finish",
        60,
    )
    return Job.objects.get(pk=job_id)


def test_real_worker_trains_then_failed_job_keeps_champion(
    real_worker, committed, django_db_blocker
):
    with django_db_blocker.unblock(), tenant_context(committed):
        job = training.train_model(
            model_type="anomaly_detector", model_name="d", training_data=metric_rows()
        )
        done = _finished(job.pk)
        assert done.state == JobState.SUCCEEDED and done.result["alias"] == "champion"
        assert (done.progress_done, done.progress_total) == (2, 2)
        assert inference.predict("d", ROW)["version"] == 1
        bad = training.train_model(
            model_type="anomaly_detector", model_name="d", training_data=metric_rows(), send=False
        )
        # What the request checked, the worker checks again: data broken after the check.
        Job.objects.filter(pk=bad.pk).update(params={**bad.params, "training_data": metric_rows(3)})
        signature(RUN_JOB_TASK, args=(bad.pk,)).delay()
        failed = _finished(bad.pk)
        assert failed.state == JobState.FAILED and "too few rows" in failed.last_error
        assert inference.predict("d", ROW)["version"] == 1
