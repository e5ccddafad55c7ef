"""The seed's Cache Manager: `from managers import CacheManager`.

    cache = CacheManager("acme")                   # a tenant id or slug
    cache.set_sync("report:7", data, timeout=60, namespace="metadata")
    cache.get_or_set_sync("report:7", build_report, timeout=60)
    await cache.invalidate_namespace("metadata")    # O(1), every process
    await cache.invalidate_tenant()                 # the tenant's whole cache

Thin over `cache_mgr` (docs/cache.md): every call runs in the tenant's context, so the
keys of two tenants never meet. Sync methods `<name>_sync`, async twins `<name>`
(managers/twins.py).
"""

from __future__ import annotations

from managers.twins import async_twins

__all__ = ["CacheManager"]


def _tenant(ref):
    from tenancy.models import Tenant

    if isinstance(ref, Tenant):
        return ref
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
        found = Tenant.objects.filter(pk=int(ref)).first() if 0 < int(ref) < 2**63 else None
    else:
        found = Tenant.objects.filter(slug=str(ref).strip().lower().replace("_", "-")).first()
    if found is None:
        raise LookupError(f"No tenant {ref!r}.")
    return found


@async_twins
class CacheManager:
    def __init__(self, tenant):
        from tenancy.context import TenantRef

        self._ref = TenantRef.of(_tenant(tenant))

    def _scope(self):
        from tenancy.context import tenant_context

        return tenant_context(self._ref)

    def get_sync(self, key, default=None, *, namespace="default"):
        from cache_mgr import api

        with self._scope():
            return api.get(key, default, namespace=namespace)

    def set_sync(self, key, value, timeout=None, *, namespace="default") -> bool:
        # No timeout: the tenant's default TTL (300 s, or what the optimiser applied).
        from cache_mgr import api

        with self._scope():
            return api.set(key, value, timeout, namespace=namespace)

    def delete_sync(self, key, *, namespace="default") -> bool:
        from cache_mgr import api

        with self._scope():
            return api.delete(key, namespace=namespace)

    def get_or_set_sync(self, key, loader, timeout=None, *, namespace="default"):
        from cache_mgr import api

        with self._scope():
            return api.get_or_set(key, loader, timeout, namespace=namespace)

    def invalidate_namespace_sync(self, namespace, *, actor="system") -> int:
        from cache_mgr import actions

        with self._scope():
            return actions.do_invalidate_namespace(namespace, actor=actor)

    def invalidate_tenant_sync(self, *, actor="system") -> int:
        from cache_mgr import actions

        with self._scope():
            return actions.do_invalidate_tenant(actor=actor)

    def get_stats_sync(self) -> dict:
        from cache_mgr import selectors

        with self._scope():
            return selectors.tenant_stats()
