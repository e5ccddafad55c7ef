"""Celery tasks of the performance manager. Roll-up and purge are tenant-scoped (sent
per tenant by fan_out_task from beat, see PERIODIC_TASKS); the queue-depth sample is a
platform task (queues are shared by every tenant)."""

from celery import shared_task

from perf_mgr import collectors
from perf_mgr.actions import do_purge_expired_metrics, do_roll_up


@shared_task
def roll_up_metrics_task() -> dict:
    return do_roll_up()


@shared_task
def purge_expired_metrics_task() -> dict:
    return do_purge_expired_metrics()


@shared_task(tenant_scoped=False)
def sample_queue_depth_task() -> dict:
    return collectors.sample_queue_depths()
