import os

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init

from tenancy.celery_guard import install_publish_guard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("dim", task_cls="tenancy.celery_support:TenantAwareTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Every publish takes its tenant from the sender's context, from the first one on (not
# only once a TenantAwareTask is bound): see tenancy/celery_guard.py.
install_publish_guard(app)
app.autodiscover_tasks()


@worker_process_init.connect
def _forget_inherited_connection_pools(**kwargs):
    """A prefork child must not share the parent's pooled sockets. Drop the references
    without closing them (closing would terminate the parent's sessions)."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    DatabaseWrapper._connection_pools.clear()


# Tracing (config/tracing.py) when OTEL_EXPORTER_OTLP_ENDPOINT is set: in each prefork
# child (the exporter's thread does not survive the fork), else in the process itself.
@worker_process_init.connect
def _trace_worker_child(**kwargs):
    from config.tracing import configure

    configure("dim-worker")


@worker_init.connect
def _trace_worker(sender=None, **kwargs):
    if "prefork" not in str(getattr(sender, "pool_cls", "prefork")).lower():
        from config.tracing import configure

        configure("dim-worker")


@beat_init.connect
def _trace_beat(**kwargs):
    from config.tracing import configure

    configure("dim-beat")
