"""The seed's import path: `from managers import initialize_managers, SessionManager, ...`.

This package holds only the facades (one module per manager, each a thin layer over
its app's actions and selectors) and the bootstrap. It is the top layer: it may import
every app; no app imports it (docs/architecture.md). Every facade follows one
convention, `managers.twins`: sync methods `<name>_sync`, async twins `<name>`.
"""

from __future__ import annotations

from managers.bootstrap import initialize_managers, setup_django, validate_module_integrity

_SESSIONS = {"SessionManager", "SessionManagerFactory", "SessionType", "SecurityLevel"}
_PERFORMANCE = {"PerformanceManager", "PerformanceManagerFactory", "OptimizationStrategy"}
_MONITORING = {"MonitoringManager", "MetricsCollector"}
_METADATA = {"MetadataManager", "MetadataManagerFactory", "MetadataSearch", "MetadataType"}


def __getattr__(name: str):
    # The facades import Django models: load them on first use, after the caller (or
    # initialize_managers) had a chance to configure Django.
    if name in _SESSIONS:
        setup_django()
        from managers import sessions

        return getattr(sessions, name)
    if name in _PERFORMANCE:
        setup_django()
        from managers import performance

        return getattr(performance, name)
    if name in _MONITORING:
        setup_django()
        from managers import monitoring

        return getattr(monitoring, name)
    if name in _METADATA:
        setup_django()
        from managers import metadata

        return getattr(metadata, name)
    if name == "CacheManager":
        setup_django()
        from managers.cache import CacheManager

        return CacheManager
    if name in ("WorkflowManager", "WorkflowEngine"):
        setup_django()
        from managers import workflow

        return getattr(workflow, name)
    if name == "LifecycleManager":
        setup_django()
        from managers.lifecycle import LifecycleManager

        return LifecycleManager
    if name == "ConnectionManager":
        setup_django()
        from managers.connections import ConnectionManager

        return ConnectionManager
    if name == "SecurityManager":
        setup_django()
        from managers.security import SecurityManager

        return SecurityManager
    if name in ("AIManager", "MLModelManager"):
        setup_django()
        from managers import ai

        return getattr(ai, name)
    raise AttributeError(f"module 'managers' has no attribute {name!r}")


__all__ = [
    "AIManager",
    "CacheManager",
    "ConnectionManager",
    "LifecycleManager",
    "MetadataManager",
    "MetadataManagerFactory",
    "MetadataType",
    "MLModelManager",
    "MetricsCollector",
    "MonitoringManager",
    "OptimizationStrategy",
    "PerformanceManager",
    "PerformanceManagerFactory",
    "SecurityLevel",
    "SecurityManager",
    "SessionManager",
    "SessionManagerFactory",
    "SessionType",
    "WorkflowEngine",
    "WorkflowManager",
    "initialize_managers",
    "validate_module_integrity",
]
