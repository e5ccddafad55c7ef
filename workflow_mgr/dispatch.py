"""Messages to the workers, sent after the commit that made them true, from the tenant
of the run (the worker re-enters it: tenancy.celery_support). Tasks are sent by name:
the task module calls the engine, so the engine does not import it back."""

from __future__ import annotations

import logging

from celery import signature
from django.db import router, transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

from tenancy import context
from tenancy.exceptions import TenantContextMissing

RUN_STEP_TASK = "workflow_mgr.tasks.run_step_task"
WAKE_STEP_TASK = "workflow_mgr.tasks.wake_step_task"
ADVANCE_RUN_TASK = "workflow_mgr.tasks.advance_run_task"

log = logging.getLogger("dim.workflows")


def database() -> str:
    """The database of the tenant's runs: its own when the tenant is dedicated
    (connection_mgr's router). Transactions, row locks and commit hooks are taken there:
    `transaction.atomic()` alone would open one on the default database."""
    from workflow_mgr.models import WorkflowRun

    return router.db_for_write(WorkflowRun)


def send_after_commit(task: str, object_id: int, *, countdown: float | None = None) -> None:
    tenant = context.get_current_tenant()
    if tenant is None:
        raise TenantContextMissing("workflow messages are sent from the run's tenant")

    def send() -> None:
        options = {"countdown": countdown} if countdown else {}
        with context.tenant_context(tenant):
            try:
                signature(task, args=(object_id,)).apply_async(**options)
            except BrokerUnavailable as exc:
                # The state that this message announces is committed; a lost message is
                # what beat's sweep resends (actions.sweep), so the caller's change stands
                # instead of failing after its commit.
                log.warning(
                    "workflow_message_deferred",
                    extra={"task": task, "object": object_id, "error": str(exc)[:200]},
                )

    transaction.on_commit(send, using=database())
