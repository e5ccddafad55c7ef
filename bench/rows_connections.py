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
    with platform_access("bench: route a tenant to a dedicated alias"):
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
        with platform_access("bench: route the tenant back"):
            TenantDatabase.objects.filter(tenant_id=dedicated.id).delete()
        aliases.unregister(alias)
        aliases.reset()
    return Outcome(
        mine,
        theirs,
        notes=(f"p50 {mine.p50_us:.0f} µs vs {theirs.p50_us:.0f} µs",),
    )


def _fresh_database(name: str) -> tuple[str, str]:
    """(runtime URL, owner URL) of a new, empty database on the bench's server."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from django.db import connections

    def named(url: str) -> str:
        return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))

    owner = os.environ["DATABASE_OWNER_URL"]
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    role = connections["default"].settings_dict["USER"]
    with psycopg.connect(named(owner), autocommit=True) as conn:
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    return named(os.environ["DATABASE_URL"]), named(owner)


def _run_move(tenant, to: str, **kwargs):
    """Start a move and run its workflow's messages here, one at a time (eager tasks
    would nest inside each commit)."""
    import time

    from celery import current_app

    from move_mgr import actions
    from tenancy.context import get_current_tenant
    from workflow_mgr import dispatch
    from workflow_mgr.models import StepRun

    queue: list = []

    class Queued:
        def __init__(self, name, args):
            self.name, self.args = name, args

        def apply_async(self, countdown=None, **_):
            queue.append((time.monotonic() + (countdown or 0), get_current_tenant(), self))

    saved = dispatch.signature
    dispatch.signature = lambda name, args: Queued(name, args)
    try:
        run = actions.do_start_move(tenant, to, **kwargs)
        while queue:
            queue.sort(key=lambda item: item[0])
            due, ref, message = queue.pop(0)
            time.sleep(max(0.0, due - time.monotonic()))
            with tenant_context(ref):
                current_app.tasks[message.name].apply(args=message.args, throw=True)
    finally:
        dispatch.signature = saved
    with tenant_context(tenant):
        run.refresh_from_db()
        steps = {s.name: s.output for s in StepRun.objects.filter(run=run, phase="action")}
    if run.state != "succeeded":
        raise RuntimeError(f"move {to}: {run.state}")
    return steps


@register(
    "connections.move",
    title="Connections: moving a tenant to its own database (COPY), and the write pause",
    ours="`tenant_move` workflow: copy (COPY out, batched INSERT in), verify md5, switch",
    peer="writes held only for the switch (ms)",
    goal=Goal(1000.0, "write pause at the switch, ms"),
)
def move_row(ctx):
    from django.conf import settings
    from django.db import connections

    from security_mgr.models import KeyRing  # noqa: F401  (the tenant's key ring moves too)

    n = ctx.iters(20_000, 2_000)
    with platform_access("bench: a tenant to move"):
        Tenant.objects.filter(slug="bench-move").delete()
        tenant = Tenant.objects.create(slug="bench-move", name="bench-move")
    with tenant_context(tenant):
        TenantSetting.objects.bulk_create(
            TenantSetting(key=f"k{i}", value={"i": i, "text": "x" * 40}) for i in range(n)
        )
    name = f"{connections['default'].settings_dict['NAME']}_move"
    url, owner_url = _fresh_database(name)
    saved_ttl = settings.CONNECTION_ROUTING_TTL
    settings.CONNECTION_ROUTING_TTL = 0  # one process: no other to wait for
    try:
        there = _run_move(tenant, "dedicated", url=url, owner_url=owner_url)
        back = _run_move(tenant, "pooled")
    finally:
        settings.CONNECTION_ROUTING_TTL = saved_ttl
        alias = f"tenant_{tenant.pk}"
        for gone in (alias, f"{alias}_owner", "default_owner"):
            aliases.unregister(gone)
        aliases.reset()
    rows, seconds = there["copy"]["rows"], there["copy"]["seconds"]
    pause = there["switch"]["pause_ms"]
    return Outcome(
        value=pause,
        ours_text=f"{rows / seconds:,.0f} rows/s ({rows} rows in {seconds:.2f} s)",
        peer_text=f"pause {pause:.1f} ms there, {back['switch']['pause_ms']:.1f} ms back",
        notes=(
            f"copy {rows / seconds:,.0f} rows/s pooled → dedicated, "
            f"{back['copy']['rows'] / back['copy']['seconds']:,.0f} rows/s back",
        ),
    )
