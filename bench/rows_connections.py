"""Connection manager rows (issue 17): what routing costs a dedicated tenant's point
lookup compared with a pooled tenant's.

The dedicated tenant's alias points at the bench database itself (registered at run
time like any dedicated database), so both sides read the same table on the same
server: the difference is the router's choice of alias (the tenant → alias map) and the
separate connection, which is what routing adds."""

from __future__ import annotations

import os

from bench.harness import Goal, Outcome, compare, register
from connection_mgr import aliases
from connection_mgr.models import Mode, TenantDatabase
from tenancy.context import TenantRef, platform_access, tenant_context
from tenancy.models import Tenant, TenantSetting


def _tenant(slug: str) -> TenantRef:
    with platform_access("bench: connection routing tenants"):
        tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": slug})
    return TenantRef.of(tenant)


def _setting(ref: TenantRef) -> int:
    with tenant_context(ref):
        row, _ = TenantSetting.objects.get_or_create(key="bench-routing", defaults={"value": {}})
        return row.pk


@register(
    "connections.routing",
    title="Connections: a dedicated tenant's point lookup vs a pooled tenant's",
    ours="`TenantSetting.objects.get(pk=...)` for a dedicated tenant (router → its alias)",
    peer="the same lookup for a pooled tenant (router → default)",
    goal=Goal(1.10, "p50 ratio"),
)
def routing_row(ctx):
    pooled = _tenant("bench-pooled")
    dedicated = _tenant("bench-dedicated")
    pooled_pk = _setting(pooled)
    dedicated_pk = _setting(dedicated)  # written while still pooled: same database
    alias = f"tenant_{dedicated.id}"
    TenantDatabase.objects.update_or_create(
        tenant_id=dedicated.id,
        defaults={"mode": Mode.DEDICATED, "alias": alias, "url": os.environ["DATABASE_URL"]},
    )
    aliases.reset()
    try:

        def ours():
            with tenant_context(dedicated):
                return TenantSetting.objects.get(pk=dedicated_pk)

        def peer():
            with tenant_context(pooled):
                return TenantSetting.objects.get(pk=pooled_pk)

        assert ours()._state.db == alias and peer()._state.db == "default"
        n = ctx.iters(5_000, 500)
        mine, theirs = compare(ours, peer, n, 100)
    finally:
        TenantDatabase.objects.filter(tenant_id=dedicated.id).delete()
        aliases.unregister(alias)
        aliases.reset()
    return Outcome(
        mine,
        theirs,
        notes=(f"p50 {mine.p50_us:.0f} µs vs {theirs.p50_us:.0f} µs",),
    )
