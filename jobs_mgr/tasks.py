import logging

from celery import shared_task

from jobs_mgr.actions import RUN_JOB_TASK, requeue_stale_jobs
from tenancy.context import tenant_context
from tenancy.models import Tenant

log = logging.getLogger("dim.jobs")


@shared_task(name=RUN_JOB_TASK)
def run_job_task(job_id: int, max_steps: int | None = None) -> dict:
    """Run (or continue) one job of the task's tenant: see jobs_mgr.engine."""
    from jobs_mgr.engine import run_job

    job = run_job(job_id, max_steps=max_steps)
    if job is None:
        return {"job": job_id, "state": None}
    return {"job": job.pk, "state": job.state, "done": job.progress_done}


@shared_task(tenant_scoped=False)
def resume_stale_jobs_task() -> dict:
    """Beat, every JOBS_SWEEP_INTERVAL seconds: in every active tenant, put the running
    jobs whose lease expired (their worker died) back in the queue, and ask a worker to
    continue each from its checkpoint. One query per tenant; no platform access."""
    requeued = {}
    for tenant in Tenant.objects.active().only("id", "slug", "cache_generation"):
        with tenant_context(tenant):
            ids = requeue_stale_jobs()
        if ids:
            requeued[tenant.slug] = ids
    if requeued:
        log.warning("jobs_requeued", extra={"jobs": requeued})
    return requeued
