"""The `tenant_move` workflow: prepare → copy → verify → switch → purge, in the moved
tenant's context (its run is one of its workflow runs; runs stay on the default
database, see workflow_mgr.models.WorkflowRun.stays_on_default).

Input: tenant_id, to ("dedicated" | "pooled"), alias, url, owner_url. The source is the
default database and the target the tenant's own for "dedicated", the other way round
for "pooled". A failure compensates in reverse: the switch routes back (only if the
target is unchanged since), the copy deletes what it copied in the target.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction

from connection_mgr import aliases, moving
from connection_mgr.models import Mode, TenantDatabase
from tenancy.context import platform_access, require_tenant_id
from workflow_mgr import definitions
from workflow_mgr.definitions import Retry, Step

NAME = "tenant_move"
FAIL_AT_ONCE = ("ChecksumMismatch", "MoveError")


def _default_owner() -> str | None:
    """The default database as the tables' owner (DATABASE_OWNER_URL, naming the
    default's database), for what the runtime role may not delete; None without it."""
    url = os.environ.get("DATABASE_OWNER_URL", "")
    if not url:
        return None
    name = connections["default"].settings_dict["NAME"]
    owner_url = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    aliases.register("default_owner", owner_url, options={"pool": False})
    return "default_owner"


def ends(ctx) -> tuple[str, str, int, str | None, str | None]:
    """(source, target, tenant id, source's owner, target's owner): aliases registered
    in this process."""
    data = ctx.input
    # Only the run's own tenant moves (the run is created in its context): a run whose
    # input names another tenant is refused before anything is registered.
    if int(data.get("tenant_id") or 0) != require_tenant_id("a tenant move step"):
        raise moving.MoveError("a tenant move acts only on its run's own tenant")
    aliases.register(data["alias"], data["url"])
    own = aliases.register(
        f"{data['alias']}_owner", data["owner_url"] or data["url"], options={"pool": False}
    )
    if data["to"] == Mode.DEDICATED:
        return "default", data["alias"], data["tenant_id"], _default_owner(), own
    return data["alias"], "default", data["tenant_id"], own, _default_owner()


def prepare(ctx) -> dict:
    """The target is ready: migrated as the owner (a new dedicated database), holding
    the tenant's platform row; the tenant has no rows that cannot move."""
    source, target, tenant_id, _source_owner, owner = ends(ctx)
    moving.refuse_platform_links(source, tenant_id)
    if ctx.input["to"] == Mode.DEDICATED:
        from connection_mgr.actions import _copy_tenant_row
        from tenancy.models import Tenant

        call_command("migrate", database=owner, verbosity=0, interactive=False)
        _copy_tenant_row(Tenant.objects.get(pk=tenant_id), owner)
    return {"source": source, "target": target}


def copy(ctx) -> dict:
    """Every moved table with COPY, each replacing the target's rows of the tenant (a
    retry after a killed worker copies again, never twice)."""
    source, target, tenant_id, source_owner, owner = ends(ctx)
    started, counts = time.perf_counter(), {}
    for model in moving.movable_models():
        counts[model._meta.db_table] = moving.copy_table(
            model, source, target, tenant_id, owner, source_owner
        )
        ctx.heartbeat()
    seconds = time.perf_counter() - started
    return {"rows": sum(counts.values()), "tables": counts, "seconds": round(seconds, 4)}


def uncopy(ctx) -> dict:
    _source, target, tenant_id, _source_owner, owner = ends(ctx)
    return {"deleted": moving.delete_tenant_rows(target, tenant_id, owner)}


def _compare(source: str, target: str, tenant_id: int) -> dict:
    left, right = moving.checksums(source, tenant_id), moving.checksums(target, tenant_id)
    wrong = sorted(t for t in left if left[t] != right.get(t))
    if wrong:
        detail = "; ".join(f"{t}: {left[t]} != {right.get(t)}" for t in wrong)
        raise moving.ChecksumMismatch(f"source and target differ: {detail}")
    return left


def verify(ctx) -> dict:
    """Row counts and md5 of every table equal on both sides, else fail (compensated)."""
    source, target, tenant_id, *_owners = ends(ctx)
    return {"checksums": _compare(source, target, tenant_id)}


def switch(ctx) -> dict:
    """Hold the source's writes, copy again what changed since the verification, check
    again, route the tenant to the target, release. The pause is what writers wait."""
    source, target, tenant_id, source_owner, owner = ends(ctx)
    data, verified = ctx.input, ctx.results["verify"]["checksums"]
    mode = Mode.DEDICATED if data["to"] == Mode.DEDICATED else Mode.POOLED
    # As the owner: the runtime role may not lock append-only tables (no UPDATE).
    with moving.writes_held(source_owner or source) as (held, started):
        now = moving.checksums(source, tenant_id)
        changed = [
            m
            for m in moving.movable_models()
            if now[m._meta.db_table] != verified.get(m._meta.db_table)
        ]
        for model in changed:
            moving.copy_table(model, source, target, tenant_id, owner, source_owner)
        final = _compare(source, target, tenant_id) if changed else now
        if source == "default":
            moving.set_routing(held, tenant_id, mode, data["alias"], data["url"], data["owner_url"])
        else:
            with moving.routing_connection() as routing:
                moving.set_routing(
                    routing, tenant_id, mode, data["alias"], data["url"], data["owner_url"]
                )
    pause = time.perf_counter() - started
    aliases.reset()
    return {
        "pause_ms": round(pause * 1000, 3),
        "recopied": [m._meta.db_table for m in changed],
        "checksums": final,
        "switched_at": time.time(),
    }


def switch_back(ctx) -> dict:
    _source, target, tenant_id, *_owners = ends(ctx)
    if moving.checksums(target, tenant_id) != ctx.output.get("checksums"):
        raise moving.MoveError("the target changed since the switch: not routed back")
    back = Mode.POOLED if ctx.input["to"] == Mode.DEDICATED else Mode.DEDICATED
    with platform_access(f"tenant move: route tenant {tenant_id} back ({back})"):
        TenantDatabase.objects.filter(tenant_id=tenant_id).update(mode=back)
    transaction.on_commit(aliases.reset)
    return {"mode": back}


def purge(ctx) -> dict:
    """Once every process has read the new routing (CONNECTION_ROUTING_TTL after the
    switch), delete the tenant's rows in the source, if nothing wrote there since."""
    source, _target, tenant_id, source_owner, _owner = ends(ctx)
    switched = ctx.results["switch"]
    wait = switched["switched_at"] + settings.CONNECTION_ROUTING_TTL - time.time()
    if wait > 0:
        time.sleep(min(wait, 60))
    if moving.checksums(source, tenant_id) != switched["checksums"]:
        raise moving.MoveError("rows were written to the source after the switch: not purged")
    deleted = moving.delete_tenant_rows(source, tenant_id, source_owner)
    if source != "default":
        connections[source].close()
    return {"deleted": deleted}


def nothing(ctx) -> dict:
    return {}


def register() -> None:
    once = Retry(max_attempts=1, non_retryable=FAIL_AT_ONCE)
    again = Retry(max_attempts=3, initial_delay=0.2, non_retryable=FAIL_AT_ONCE)
    definitions.register(
        NAME,
        [
            Step("prepare", prepare, nothing, timeout=600, retry=again),
            Step("copy", copy, uncopy, timeout=3600, retry=again),
            Step("verify", verify, read_only=True, timeout=3600, retry=once),
            Step("switch", switch, switch_back, timeout=600, retry=again),
            Step("purge", purge, nothing, timeout=3600, retry=again),
        ],
        title="Tenant move",
        platform=True,
    )
