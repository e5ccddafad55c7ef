"""The seed's performance and monitoring examples (shared/seeds, "Quick Example",
"Performance Manager", "Monitoring Manager", "Metrics Collection"), run as written."""

import pytest
from asgiref.sync import async_to_sync

from perf_mgr import recording
from perf_mgr.models import MetricSample, MetricSeries
from tenancy.context import tenant_context
from tenancy.exceptions import TenantContextMissing
from tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_tenants(db):
    return (
        Tenant.objects.create(slug="enterprise", name="Enterprise"),
        Tenant.objects.create(slug="enterprise-client", name="Enterprise client"),
    )


async def quick_example():
    from managers import PerformanceManager

    performance_manager = PerformanceManager()
    # Performance monitoring with ML
    await performance_manager.start_monitoring()
    current_perf = await performance_manager.get_current_performance()
    return current_perf


async def performance_manager_example():
    from managers import OptimizationStrategy, PerformanceManagerFactory

    # Initialize with ML capabilities
    manager = PerformanceManagerFactory.create_production_manager()
    await manager.initialize()

    # Start real-time monitoring
    await manager.start_monitoring()

    # AI-powered optimization
    optimization_result = await manager.optimize_performance(strategy=OptimizationStrategy.ADAPTIVE)

    # Predictive analytics
    analytics = await manager.get_analytics(hours=24)
    print(f"CPU trend: {analytics['trends']['cpu_trend']}")
    return optimization_result, analytics


async def monitoring_manager_example():
    from managers import MetricsCollector, MonitoringManager  # noqa: F401  (as the seed)

    # Real-time monitoring
    monitoring_manager = MonitoringManager()
    await monitoring_manager.start_collection()

    # Custom metrics
    await monitoring_manager.record_metric(
        metric_name="custom_business_metric",
        value=123.45,
        tags={"tenant": "enterprise", "region": "us-east"},
    )


async def metrics_collection_example():
    from managers import MonitoringManager

    monitor = MonitoringManager()

    # Business metrics
    await monitor.record_business_metric(
        "tenant_active_users", value=1250, tenant_id="enterprise_client"
    )

    # Performance metrics
    await monitor.record_performance_metric(
        "session_creation_time",
        value=0.045,  # 45ms
        labels={"region": "us-west", "tier": "premium"},
    )


def _samples(tenant):
    with tenant_context(tenant):
        return {
            (s.name, tuple(sorted(s.labels.items())), s.category): list(
                MetricSample.objects.filter(series_id=s.pk).values_list("value", flat=True)
            )
            for s in MetricSeries.objects.all()
        }


def test_quick_example_gives_the_platform_view_without_a_tenant(seed_tenants):
    current = async_to_sync(quick_example)()
    assert current["tenant"] is None and current["tenants"] == 2
    assert current["process"]["rss_bytes"] > 0


def test_performance_manager_example_runs_as_written(seed_tenants, capsys):
    optimization, analytics = async_to_sync(performance_manager_example)()
    # The platform's view: each tenant's recommendations; nothing applied (settings off).
    assert optimization["status"] == "ok" and optimization["applied"] == []
    assert optimization["strategy"] == "adaptive" and len(optimization["tenants"]) == 2
    assert "CPU trend: {" in capsys.readouterr().out
    assert analytics["window"]["hours"] == 24
    assert analytics["trends"]["cpu_trend"]["direction"] == "unknown"  # nothing measured yet


def test_monitoring_examples_record_in_the_named_tenants(seed_tenants):
    enterprise, client = seed_tenants
    async_to_sync(monitoring_manager_example)()
    # The seed's last call names no tenant: inside a tenant (a request, a task) it
    # records there; with none anywhere it is refused, never stored as nobody's.
    with pytest.raises(TenantContextMissing):
        async_to_sync(metrics_collection_example)()
    with tenant_context(client):
        async_to_sync(metrics_collection_example)()
    assert recording.flush() == 4  # the refused run had recorded its business metric
    assert _samples(enterprise) == {
        ("custom_business_metric", (("region", "us-east"),), "custom"): [123.45]
    }
    assert _samples(client) == {
        ("tenant_active_users", (), "business"): [1250.0, 1250.0],
        ("session_creation_time", (("region", "us-west"), ("tier", "premium")), "performance"): [
            0.045
        ],
    }


def test_facade_for_one_tenant_and_its_errors(seed_tenants):
    from managers import MonitoringManager, PerformanceManager
    from managers.performance import PerformanceError
    from perf_mgr.validation import MetricRejected

    enterprise, _client = seed_tenants
    monitor = MonitoringManager(tenant_id="enterprise")
    for value in (0.1, 0.2, 0.3):
        monitor.record_metric_sync("checkout_seconds", value, {"step": "pay"})
    monitor.flush_sync()
    assert monitor.query_metric_sync("checkout_seconds", "max", by=["step"]) == {"step=pay": 0.3}
    manager = PerformanceManager(tenant_id=enterprise.pk)
    current = manager.get_current_performance_sync()
    assert current["tenant"] == "enterprise"
    assert current["metrics"]["checkout_seconds"]["count"] == 3
    with pytest.raises(MetricRejected) as bad:
        monitor.record_metric_sync("checkout_seconds", float("nan"))
    assert bad.value.code == "not_finite"
    with pytest.raises(PerformanceError) as unknown:
        PerformanceManager(tenant_id="nobody").get_analytics_sync()
    assert unknown.value.code == "unknown_tenant"
    with pytest.raises(PerformanceError) as hours:
        manager.get_analytics_sync(hours=0)
    assert hours.value.code == "invalid_hours"
