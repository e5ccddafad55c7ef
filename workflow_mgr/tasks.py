import logging

from celery import shared_task

from tenancy.context import tenant_context
from tenancy.models import Tenant
from workflow_mgr import dispatch

log = logging.getLogger("dim.workflows")


@shared_task(name=dispatch.RUN_STEP_TASK)
def run_step_task(step_id: int) -> dict:
    """Run one step run of the task's tenant (a no-op if another worker holds it or it
    is done): see workflow_mgr.engine."""
    from workflow_mgr.engine import run_step

    step = run_step(step_id)
    return {"step": step_id, "state": getattr(step, "state", None)}


@shared_task(name=dispatch.WAKE_STEP_TASK)
def wake_step_task(step_id: int) -> dict:
    """A durable timer's end."""
    from workflow_mgr.engine import wake

    wake(step_id)
    return {"step": step_id}


@shared_task(name=dispatch.ADVANCE_RUN_TASK)
def advance_run_task(run_id: int) -> dict:
    from workflow_mgr.engine import advance

    run = advance(run_id)
    return {"run": run_id, "state": getattr(run, "state", None)}


@shared_task(tenant_scoped=False)
def sweep_workflows_task() -> dict:
    """Beat, every WORKFLOW_SWEEP_INTERVAL seconds: in every active tenant, requeue the
    steps whose worker died, wake due timers, resend lost messages and advance runs that
    stopped moving (workflow_mgr.actions.sweep). One pass per tenant, in its context."""
    from workflow_mgr.actions import sweep

    found = {}
    for tenant in Tenant.objects.active().only("id", "slug", "cache_generation"):
        with tenant_context(tenant):
            done = sweep()
        if done:
            found[tenant.slug] = done
    if found:
        log.warning("workflows_swept", extra={"workflows": found})
    return found
