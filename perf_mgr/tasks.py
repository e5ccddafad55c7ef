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


@shared_task
def evaluate_alert_rules_task() -> dict:
    """Beat, per tenant (fan-out): evaluate the tenant's rules; new notifications are
    sent right after the commit instead of waiting for the delivery cycle."""
    from perf_mgr.alerting import evaluator
    from tenancy import db as tenant_db

    outcome = evaluator.evaluate_tenant()
    if outcome.notifications:
        tenant_db.on_commit(None, deliver_alert_notifications_task.delay)
    return vars(outcome)


@shared_task
def deliver_alert_notifications_task() -> dict:
    """Beat, per tenant (fan-out), and after an evaluation: the tenant's due
    notifications, at most ALERTING_DELIVERY_BATCH per run (perf_mgr/alerting/delivery.py)."""
    from perf_mgr.alerting import delivery

    return delivery.deliver_due()


@shared_task
def detect_anomalies_task() -> dict:
    """Beat, per tenant (fan-out): score the tenant's metrics (perf_mgr/anomalies.py)."""
    from perf_mgr.anomalies import do_detect_anomalies

    return do_detect_anomalies()


@shared_task
def watch_applied_recommendations_task() -> dict:
    """Beat, per tenant (fan-out): roll back applied recommendations whose watched metric
    got worse (perf_mgr/optimize.py)."""
    from perf_mgr.optimize import do_watch_applied

    return do_watch_applied()
