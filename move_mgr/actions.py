"""Starting a move: everything is checked before the run exists (a database that does
not answer, an invalid URL, a move already running), so a refusal leaves nothing
behind; the run does the rest (move_mgr/workflow.py)."""

from __future__ import annotations

from django.db import connections, transaction

from connection_mgr import aliases
from connection_mgr.actions import ConnectionUsageError, _probe
from connection_mgr.models import Mode, TenantDatabase
from move_mgr.workflow import NAME
from tenancy.context import tenant_context
from workflow_mgr.actions import create_run
from workflow_mgr.models import RunState, WorkflowRun

ACTIVE = (RunState.RUNNING, RunState.WAITING, RunState.COMPENSATING, RunState.NEEDS_OPERATOR)


def _check_target(alias: str, url: str, owner_url: str) -> None:
    owner = f"{alias}_owner"
    try:
        reasons = _probe(alias, url, "url") + _probe(
            owner, owner_url or url, "owner_url", {"pool": False}
        )
    finally:
        aliases.unregister(owner)
    if reasons:
        aliases.unregister(alias)
        raise ConnectionUsageError("The database cannot be used.", reasons=reasons)


def do_start_move(tenant, to: str, *, url: str = "", owner_url: str = "", actor: str = ""):
    """Start moving `tenant` to `to` ("dedicated" | "pooled"); the workflow run.
    ConnectionUsageError (400, or 409 with `conflict`) with every reason otherwise."""
    row = TenantDatabase.objects.filter(tenant=tenant).first()
    dedicated = row is not None and row.mode == Mode.DEDICATED
    if to == Mode.DEDICATED:
        if dedicated:
            raise ConnectionUsageError("The tenant is dedicated already.", conflict=True)
        if not url:
            raise ConnectionUsageError("url: required to move to a dedicated database.")
        alias = f"tenant_{tenant.pk}"
    elif to == Mode.POOLED:
        if not dedicated:
            raise ConnectionUsageError("The tenant is pooled already.", conflict=True)
        alias, url, owner_url = row.alias, row.url, row.owner_url
    else:
        raise ConnectionUsageError("to: one of dedicated, pooled.")
    with tenant_context(tenant), transaction.atomic():
        # One move per tenant at a time: the lock serialises two requests racing here.
        # On SQLite the transaction itself is that lock: BEGIN IMMEDIATE (settings'
        # transaction_mode) takes the database's write lock before the check below.
        if connections["default"].vendor == "postgresql":
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('dim_move'), %s)", [tenant.pk]
                )
        if WorkflowRun.objects.filter(name=NAME, state__in=ACTIVE).exists():
            raise ConnectionUsageError(
                "Another move of this tenant is running; wait for it to end.", conflict=True
            )
        _check_target(alias, url, owner_url)
        run = create_run(
            NAME,
            input={
                "tenant_id": tenant.pk,
                "to": str(to),
                "alias": alias,
                "url": url,
                "owner_url": owner_url,
            },
            actor=actor,
            platform=True,
        )
    return run
