"""Tenant context across Celery.

Sending: every message takes its tenant from the sender's context, in the
`dim_tenant_id` header, with a proof that our publish path stamped it (see
`tenancy.celery_guard`: it covers apply_async, delay, send_task, canvas, callbacks,
beat, and `apply` below). Running: the worker checks the proof, enters that tenant's
context around the task and leaves it afterwards. A task declared `tenant_scoped` (the
default) that arrives with no tenant raises `TenantContextMissing` and never runs
unscoped; platform tasks declare `tenant_scoped=False` and run with no tenant.
"""

from __future__ import annotations

import logging

from celery import Task
from celery.utils import uuid

from tenancy import context
from tenancy.celery_guard import (
    PROOF_HEADER,
    TENANT_HEADER,
    guard_message,
    install_publish_guard,
    request_tenant,
    sender_state,
)
from tenancy.exceptions import TenantContextMissing, TenantMismatch

__all__ = ["PROOF_HEADER", "TENANT_HEADER", "TenantAwareTask", "fan_out"]

log = logging.getLogger("dim.tasks")


def _caller_tenant():
    """For a task called like a function: the caller's tenant, or, for an errback
    Celery calls after a failed task, that task's tenant."""
    state = sender_state()
    return state if isinstance(state, int | context.TenantRef) else None


class TenantAwareTask(Task):
    tenant_scoped = True
    reaches_every_tenant = False  # see celery_guard.reaches_every_tenant

    @classmethod
    def bind(cls, app):
        # Every task of the app is bound before it can be sent: guard the app's sender.
        install_publish_guard(app)
        return super().bind(app)

    def apply(self, args=None, kwargs=None, link=None, link_error=None, task_id=None, **options):
        """Eager execution publishes nothing, so it is guarded here as a publish is;
        the task then checks the proof like a worker. When platform access addressed a
        tenant, Celery's follow-ups (callbacks, chain steps) are sent from that tenant,
        as a worker sends them."""
        task_id = task_id or uuid()
        headers = options["headers"] = dict(options.get("headers") or {})
        tenant_id = guard_message(self.name, task_id, headers, (link, link_error))
        if tenant_id is None or tenant_id == context.get_current_tenant_id():
            return super().apply(args, kwargs, link, link_error, task_id, **options)
        with context.tenant_context(tenant_id):
            return super().apply(args, kwargs, link, link_error, task_id, **options)

    def __call__(self, *args, **kwargs):
        request = self.request
        if request.called_directly:
            tenant = _caller_tenant()
        else:
            tenant = request_tenant(self.name, request)
        if tenant is None:
            if self.tenant_scoped:
                raise TenantContextMissing(
                    f"task {self.name} is tenant-scoped but arrived without a tenant; "
                    "send it inside tenant_context() or through fan_out()"
                )
            with context.no_tenant():
                return super().__call__(*args, **kwargs)
        with context.tenant_context(tenant):
            return super().__call__(*args, **kwargs)


def fan_out(task, *args, **kwargs) -> int:
    """Send `task` once per active tenant, each inside that tenant's context. Only from
    no tenant (beat, platform code): inside one tenant this would act for all of them."""
    from tenancy.models import Tenant

    if context.get_current_tenant_id() is not None:
        raise TenantMismatch(
            f"fan_out({task.name}) sends to every tenant: call it with no tenant in "
            "context, never from inside one tenant's"
        )

    sent = 0
    for tenant in Tenant.objects.active().only("id", "slug", "cache_generation"):
        with context.tenant_context(tenant):
            task.apply_async(args, kwargs)
        sent += 1
    log.info("fan_out", extra={"task": task.name, "tenants": sent})
    return sent
