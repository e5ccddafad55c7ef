"""The seed's monitoring API: `from managers import MonitoringManager, MetricsCollector`.

Recording is an in-process append (perf_mgr/recording.py): the async and sync forms
return at once, and the samples reach the database with the next flush (`flush()`
forces it). The tenant of a sample: `tenant_id` if given, else a `tenant` tag (the
seed's `tags={"tenant": "enterprise", ...}`; it names the tenant and is not kept as a
label), else the manager's, else the tenant in context. A bad sample raises
`MetricRejected` (a ValueError with a `code`); no tenant at all raises
`TenantContextMissing`.
"""

from __future__ import annotations

from managers.performance import tenant_scope
from managers.twins import async_twins

__all__ = ["MetricsCollector", "MonitoringManager"]


def _split_tenant(tags, tenant_id):
    if tags and "tenant" in tags:
        tags = dict(tags)
        named = tags.pop("tenant")
        tenant_id = named if tenant_id is None else tenant_id
    return tags, tenant_id


@async_twins
class MetricsCollector:
    """Records samples for one tenant (or the context's) and reports this process."""

    def __init__(self, tenant_id=None):
        self.tenant_id = tenant_id

    def _scope(self, tenant_id):
        return tenant_scope(tenant_id if tenant_id is not None else self.tenant_id)

    def record_sync(self, name, value, labels=None, *, tenant_id=None, category="custom") -> bool:
        from perf_mgr import recording

        labels, tenant_id = _split_tenant(labels, tenant_id)
        with self._scope(tenant_id):
            return recording.record_metric(name, value, labels, category=category)

    def flush_sync(self) -> int:
        from perf_mgr import recording

        return recording.flush()

    def snapshot_sync(self) -> dict:
        from perf_mgr import process, recording

        return {
            "process": process.sample(),
            "buffer": {"pending": recording.pending(), "dropped": recording.dropped()},
        }


@async_twins
class MonitoringManager:
    def __init__(self, config: str = "default", tenant_id=None):
        self.config = config
        self.collector = MetricsCollector(tenant_id)

    def start_collection_sync(self) -> dict:
        from django.conf import settings

        from perf_mgr import monitoring

        monitoring.start()
        return {"collecting": True, "interval_seconds": settings.PERFORMANCE_MONITORING_INTERVAL}

    def record_metric_sync(self, metric_name, value, tags=None, tenant_id=None) -> bool:
        return self.collector.record_sync(metric_name, value, tags, tenant_id=tenant_id)

    def record_business_metric_sync(self, name, value, tenant_id=None, tags=None) -> bool:
        return self.collector.record_sync(
            name, value, tags, tenant_id=tenant_id, category="business"
        )

    def record_performance_metric_sync(self, name, value, labels=None, tenant_id=None) -> bool:
        return self.collector.record_sync(
            name, value, labels, tenant_id=tenant_id, category="performance"
        )

    def flush_sync(self) -> int:
        return self.collector.flush_sync()

    def query_metric_sync(
        self, name, function="avg", window_seconds=300, labels=None, by=None, tenant_id=None
    ) -> dict:
        """`function` (perf_mgr.query.FUNCTIONS) of `name` over the last window, per
        group of the `by` labels: {"view=a,status=2xx": value, ...} ("" for one group)."""
        from perf_mgr import query

        with self.collector._scope(tenant_id):
            result = query.evaluate(name, function, window_seconds, labels, by)
        return {",".join(f"{k}={v}" for k, v in key): value for key, value in result.items()}
