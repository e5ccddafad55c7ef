"""Writes of the cache manager: invalidating a namespace or a whole tenant, each O(1)
(one INCR and one PUBLISH), recorded in the tenant's audit log through `tenant_event`."""

from __future__ import annotations

import time

from django.db import transaction

from cache_mgr import shared, tiers
from cache_mgr.api import check_namespace
from tenancy import hooks
from tenancy.context import require_tenant_id


def do_invalidate_namespace(namespace: str, *, actor: str = "system") -> int:
    """Every entry of the tenant in context under `namespace` becomes unreachable at once,
    in every process. Returns the namespace's new generation."""
    check_namespace(namespace)
    return _bump(namespace, actor)


def do_invalidate_tenant(*, actor: str = "system") -> int:
    """The tenant's whole cache: every namespace of the cache manager and, through the
    tenant's cache generation, every key Django's cache holds for it (the per-tenant
    "clear cache" django-tenants users ask for)."""
    from tenancy.actions import do_bump_tenant_cache_generation
    from tenancy.models import Tenant

    tenant_id = require_tenant_id("invalidating the tenant cache")
    generation = _bump(shared.TENANT_WIDE, actor)
    with transaction.atomic():
        do_bump_tenant_cache_generation(Tenant.objects.get(pk=tenant_id))
    return generation


def _bump(namespace: str, actor: str) -> int:
    tenant_id = require_tenant_id("invalidating the tenant cache")
    st = tiers.state()
    new = st.shared.bump(tenant_id, namespace, tiers.message_generation(tenant_id, namespace))
    st.forget_generation(tenant_id, namespace)
    st.count(
        tenant_id, "default" if namespace == shared.TENANT_WIDE else namespace, "invalidations"
    )
    hooks.tenant_event.call(
        tenant_id,
        "cache.invalidated",
        {"namespace": namespace, "generation": new, "at": round(time.time(), 3)},
        actor,
    )
    return int(new or 0)
