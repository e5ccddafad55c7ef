"""The seed's performance API: `from managers import PerformanceManager,
PerformanceManagerFactory, OptimizationStrategy`.

Every method has an async form with the seed's name and a sync twin suffixed `_sync`
(managers/twins.py). A manager acts for a tenant: the one given to the method, else
the one given to the manager, else the tenant in context. With none of them (the seed's
examples name no tenant) it gives the platform's view: every active tenant's figures
together, read under the audited `platform_access`, plus this process's.
`optimize_performance` asks perf_mgr/optimize.py (the AI manager's advice) for the
tenant, or, in the platform's view, for each active tenant in its own context.
"""

from __future__ import annotations

import contextlib
import enum

from managers.twins import async_twins

__all__ = [
    "OptimizationStrategy",
    "PerformanceError",
    "PerformanceManager",
    "PerformanceManagerFactory",
]

PLATFORM_REASON = "performance manager: the platform's view across tenants"


class OptimizationStrategy(enum.StrEnum):
    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"
    ADAPTIVE = "adaptive"


class PerformanceError(ValueError):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def resolve_tenant(ref):
    """A Tenant from an id, a slug (the seed's `enterprise_client`: underscores read as
    hyphens) or a Tenant; PerformanceError 404 when there is none, 403 when inactive."""
    from tenancy.models import Tenant

    if isinstance(ref, Tenant):
        return ref
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        tenant = Tenant.objects.filter(pk=int(ref)).first() if 0 < int(ref) < 2**63 else None
    else:
        tenant = Tenant.objects.filter(slug=str(ref).strip().lower().replace("_", "-")).first()
    if tenant is None:
        raise PerformanceError(404, "unknown_tenant", f"No tenant {ref!r}.")
    if not tenant.is_active:
        raise PerformanceError(403, "tenant_inactive", f"Tenant {tenant.slug!r} is {tenant.state}.")
    return tenant


def tenant_scope(ref):
    """A context manager for the tenant `ref` names (None: leave the context as it is)."""
    from tenancy.context import tenant_context

    return contextlib.nullcontext() if ref is None else tenant_context(resolve_tenant(ref))


def _platform_tenants():
    from tenancy.models import Tenant

    return list(Tenant.objects.active().order_by("pk"))


@async_twins
class PerformanceManager:
    def __init__(self, config: str = "default", tenant_id=None):
        self.config = config
        self.tenant_id = tenant_id
        self.initialized = False

    def initialize_sync(self) -> dict:
        from managers.bootstrap import initialize_managers

        report = initialize_managers()
        self.initialized = True
        return report

    def start_monitoring_sync(self) -> dict:
        """Start this process's collectors: the flusher thread (which samples CPU and
        memory every PERFORMANCE_MONITORING_INTERVAL) in `thread` mode, and a first
        sample now. Requests and tasks are measured by the middleware and the Celery
        signals whether or not this is called."""
        from django.conf import settings

        from perf_mgr import monitoring

        monitoring.start()
        return {
            "monitoring": True,
            "interval_seconds": settings.PERFORMANCE_MONITORING_INTERVAL,
            "flush_mode": settings.PERFORMANCE_FLUSH_MODE,
        }

    def _run(self, tenant_id, tenant_fn, platform_fn):
        from tenancy.context import get_current_tenant_id, platform_access

        ref = tenant_id if tenant_id is not None else self.tenant_id
        if ref is not None:
            with tenant_scope(ref):
                return tenant_fn()
        if get_current_tenant_id() is not None:
            return tenant_fn()
        with platform_access(PLATFORM_REASON, actor="managers.PerformanceManager"):
            tenants = _platform_tenants()
        return platform_fn(tenants)

    def get_current_performance_sync(self, tenant_id=None, window_seconds: int = 300) -> dict:
        from perf_mgr import analytics

        return self._run(
            tenant_id,
            lambda: analytics.get_current_performance(window_seconds),
            lambda tenants: analytics.get_current_performance(window_seconds, tenants=tenants),
        )

    def get_analytics_sync(self, hours: int = 24, tenant_id=None) -> dict:
        from perf_mgr import analytics

        try:
            return self._run(
                tenant_id,
                lambda: analytics.get_analytics(hours),
                lambda tenants: analytics.get_analytics(hours, tenants=tenants),
            )
        except analytics.AnalyticsError as exc:
            raise PerformanceError(400, exc.code, exc.message) from None

    def optimize_performance_sync(
        self, strategy=OptimizationStrategy.ADAPTIVE, tenant_id=None, apply: bool = True
    ) -> dict:
        """Recommendations (applied where the strategy and the settings allow) for the
        tenant; without one, for every active tenant (`tenants`: each one's result)."""
        from ai_mgr.advice import StrategyError
        from perf_mgr import optimize
        from tenancy.context import tenant_context

        actor = "managers.PerformanceManager"
        name = str(getattr(strategy, "value", strategy)).lower()

        def one():
            return optimize.optimize_performance(name, actor=actor, auto_apply=apply)

        def every(tenants):
            results = {}
            for tenant in tenants:
                with tenant_context(tenant):
                    results[tenant.slug] = one()
            applied = [i for r in results.values() for i in r["applied"]]
            return {"status": "ok", "strategy": name, "tenants": results, "applied": applied}

        try:
            return self._run(tenant_id, one, every)
        except StrategyError as exc:
            raise PerformanceError(400, exc.code, exc.message) from None


class PerformanceManagerFactory:
    @staticmethod
    def create_production_manager(tenant_id=None) -> PerformanceManager:
        return PerformanceManager(config="production", tenant_id=tenant_id)

    @staticmethod
    def create_test_manager(tenant_id=None) -> PerformanceManager:
        return PerformanceManager(config="test", tenant_id=tenant_id)
