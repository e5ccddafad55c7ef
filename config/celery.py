import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dim", task_cls="tenancy.celery_support:TenantAwareTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _forget_inherited_connection_pools(**kwargs):
    """A prefork child must not share the parent's pooled sockets. Drop the references
    without closing them (closing would terminate the parent's sessions)."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    DatabaseWrapper._connection_pools.clear()
