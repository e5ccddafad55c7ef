"""Celery tasks of the tenant lifecycle; tenant-scoped (sent per tenant by fan_out_task
from beat: settings.PERIODIC_TASKS). One retention task per data kind, so beat's
schedules name each (and an operator can time or pause one kind alone)."""

from celery import shared_task

from lifecycle_mgr.exports import sweep_expired_exports
from lifecycle_mgr.retention import purge_kind


@shared_task
def purge_retention_task(kind: str) -> dict:
    return purge_kind(kind)


@shared_task
def purge_jobs_retention_task() -> dict:
    return purge_kind("jobs")


@shared_task
def purge_workflow_runs_retention_task() -> dict:
    return purge_kind("workflow_runs")


@shared_task
def purge_alert_notifications_retention_task() -> dict:
    return purge_kind("alert_notifications")


@shared_task
def sweep_expired_exports_task() -> dict:
    return {"expired": sweep_expired_exports()}
