"""Celery tasks of the tenant lifecycle; tenant-scoped (sent per tenant by fan_out_task
from beat, one schedule per data kind: settings.PERIODIC_TASKS)."""

from celery import shared_task

from lifecycle_mgr.retention import purge_kind


@shared_task
def purge_retention_task(kind: str) -> dict:
    return purge_kind(kind)
