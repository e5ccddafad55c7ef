"""The roll-up run by a real Celery worker (its own thread and database connection),
sent per tenant by beat's fan-out task."""

import pytest

from perf_mgr import store
from perf_mgr.models import MetricRollup, RollupCursor, now_us
from tenancy.context import tenant_context
from tenancy.tasks import fan_out_task
from tests.markers import postgres_only
from tests.outages import wait_until

# The worker thread opens its own connection: the embedded test database (SQLite in
# memory) is not shared with it; eager runs of the same task are tested on both.
pytestmark = postgres_only("a worker thread reading committed rows on its own connection")


@pytest.fixture
def committed_tenants(django_db_setup, django_db_blocker):
    from tenancy.models import Tenant
    from tests.committed import delete_committed_tenant

    with django_db_blocker.unblock():
        tenants = [
            Tenant.objects.create(slug=f"perf-worker-{n}", name=f"Perf worker {n}") for n in (1, 2)
        ]
        yield tenants
        for tenant in tenants:
            delete_committed_tenant(tenant.pk)


def test_real_worker_rolls_up_each_tenants_samples(
    real_worker, committed_tenants, django_db_blocker
):
    at = now_us() - 120_000_000
    with django_db_blocker.unblock():
        for n, tenant in enumerate(committed_tenants, start=1):
            with tenant_context(tenant):
                store.write([("jobs", (), "custom", float(n), at + i) for i in range(5 * n)])
        sent = fan_out_task.apply_async(args=["perf_mgr.tasks.roll_up_metrics_task"])
        assert sent.get(timeout=30) >= 2
        for n, tenant in enumerate(committed_tenants, start=1):
            with tenant_context(tenant):
                wait_until(
                    lambda: RollupCursor.objects.filter(last_sample_id__gt=0).exists(),
                    "the worker rolls up",
                )
                minute = MetricRollup.objects.get(resolution=60)
                assert (minute.count, minute.sum) == (5 * n, 5.0 * n * n)


def test_real_worker_detects_anomalies_per_tenant(
    real_worker, committed_tenants, django_db_blocker
):
    from perf_mgr.models import MetricAnomaly, MetricSeries
    from perf_mgr.tests.insights_helpers import hourly_history, recent

    now = now_us()
    spiky, calm = committed_tenants
    with django_db_blocker.unblock():
        for tenant, last in ((spiky, 700.0), (calm, 100.0)):
            rows = hourly_history("orders", now, weeks=2) + recent("orders", now, last)
            with tenant_context(tenant):
                store.write([(n, (), "custom", v, at) for n, _l, v, at in rows])
        sent = fan_out_task.apply_async(args=["perf_mgr.tasks.detect_anomalies_task"])
        assert sent.get(timeout=30) >= 2
        with tenant_context(spiky):
            wait_until(MetricAnomaly.objects.exists, "the worker stores an anomaly", 60)
            assert MetricAnomaly.objects.get().metric == "orders"
        with tenant_context(calm):
            # Its run wrote its scores (so it ran), and found nothing.
            wait_until(
                MetricSeries.objects.filter(name="anomaly_score").exists,
                "the worker scores the calm tenant",
                60,
            )
            assert not MetricAnomaly.objects.exists()
