from celery import current_app, shared_task
from django.utils import timezone

from tenancy.celery_support import fan_out
from tenancy.context import require_tenant_id
from tenancy.models import TenantSetting


@shared_task(tenant_scoped=False, reaches_every_tenant=True)
def fan_out_task(task_name: str, *args) -> int:
    """Beat entry point: run `task_name` once per active tenant."""
    return fan_out(current_app.tasks[task_name], *args)


@shared_task
def record_tenant_heartbeat_task() -> dict:
    """Per-tenant periodic task (sent by fan_out_task): proves that beat, the worker and
    the tenant context work together, and leaves a timestamp the console shows."""
    tenant_id = require_tenant_id("record_tenant_heartbeat_task")
    now = timezone.now()
    TenantSetting.objects.update_or_create(
        key="platform.heartbeat",
        defaults={"value": {"at": now.isoformat()}, "description": "Last worker heartbeat"},
    )
    return {"tenant_id": tenant_id, "at": now.isoformat()}
