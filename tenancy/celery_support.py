"""Tenant context across Celery.

Sending: a task sent inside a tenant context carries the tenant id in the
`dim_tenant_id` message header (added in `apply_async`, so eager mode and real brokers
behave alike). Running: the worker enters that tenant's context around the task and
leaves it afterwards. A task declared `tenant_scoped` (the default) that arrives with
no tenant raises `TenantContextMissing` and never runs unscoped; platform tasks
declare `tenant_scoped=False` and run with no tenant.
"""

from __future__ import annotations

import logging

from celery import Task

from tenancy import context
from tenancy.exceptions import TenantContextMissing, TenantMismatch

TENANT_HEADER = "dim_tenant_id"
log = logging.getLogger("dim.tasks")


def _tenant_from_request(request) -> int | None:
    value = getattr(request, TENANT_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(TENANT_HEADER)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TenantContextMissing(f"malformed {TENANT_HEADER} header: {value!r}") from None


class TenantAwareTask(Task):
    tenant_scoped = True

    def apply_async(
        self,
        args=None,
        kwargs=None,
        task_id=None,
        producer=None,
        link=None,
        link_error=None,
        shadow=None,
        **options,
    ):
        headers = dict(options.pop("headers", None) or {})
        tenant_id = context.get_current_tenant_id()
        if tenant_id is not None:
            named = headers.setdefault(TENANT_HEADER, tenant_id)
            if str(named) != str(tenant_id):
                # Like a write naming another tenant: only fan_out()/platform code,
                # outside any tenant context, may address other tenants.
                raise TenantMismatch(
                    f"task {self.name} sent in tenant {tenant_id}'s context names tenant {named}"
                )
        return super().apply_async(
            args, kwargs, task_id, producer, link, link_error, shadow, headers=headers, **options
        )

    def __call__(self, *args, **kwargs):
        tenant_id = _tenant_from_request(self.request)
        if tenant_id is None and self.request.id is None:
            # Called in-process like a function: it runs in the caller's context.
            tenant_id = context.get_current_tenant_id()
        if tenant_id is None:
            if self.tenant_scoped:
                raise TenantContextMissing(
                    f"task {self.name} is tenant-scoped but arrived without a tenant; "
                    "send it inside tenant_context() or through fan_out()"
                )
            with context.no_tenant():
                return super().__call__(*args, **kwargs)
        with context.tenant_context(tenant_id):
            return super().__call__(*args, **kwargs)


def fan_out(task, *args, **kwargs) -> int:
    """Send `task` once per active tenant, each inside that tenant's context."""
    from tenancy.models import Tenant

    sent = 0
    for tenant in Tenant.objects.active().only("id", "slug", "cache_generation"):
        with context.tenant_context(tenant):
            task.apply_async(args, kwargs)
        sent += 1
    log.info("fan_out", extra={"task": task.name, "tenants": sent})
    return sent
