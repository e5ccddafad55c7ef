"""The `lifecycle.<transition>` workflows (issue 16: "each transition is a workflow, and
each is audited"). A run executes in the tenant's context (its run is one of the
tenant's workflow runs) with input {tenant_id, transition, actor}:

    check (read only)  →  [purge only: erase]  →  apply (compensation: restore)

`check` re-reads the state under a row lock (the API checked too, but a run may start
long after) and, for purge, the legal hold; a refusal there is not retried and changes
nothing. `apply` moves the lifecycle row and the tenant's own state and appends the
transition to the tenant's log and the platform's, in the step's transaction. Under
the automatic strategy a failure after `apply` restores the previous state (audited).

Purge runs under the manual strategy: erasure cannot be undone, so a failed purge waits
for an operator instead of compensating around destroyed data.
"""

from __future__ import annotations

from django.utils import timezone

from audit_mgr.actions import record_platform_event, record_tenant_event
from lifecycle_mgr import states
from lifecycle_mgr.holds import ensure_not_held
from lifecycle_mgr.models import TenantLifecycle
from tenancy.actions import do_set_tenant_state
from tenancy.context import platform_access, require_tenant_id
from tenancy.models import Tenant
from workflow_mgr import definitions
from workflow_mgr.definitions import Retry, Step

PREFIX = "lifecycle."
# Refusals are answers, not faults: retrying them would only repeat the answer.
REFUSALS = ("IllegalTransition", "LegalHoldActive", "ErasureUnavailable", "ForeignTenant")
RETRY = Retry(max_attempts=5, initial_delay=1, max_delay=30, non_retryable=REFUSALS)


class ErasureUnavailable(RuntimeError):
    """The purge step found no `lifecycle_mgr.erasure.erase_tenant`."""


def workflow_name(transition: str) -> str:
    return f"{PREFIX}{transition}"


class ForeignTenant(RuntimeError):
    """A step was given another tenant than its run's: never acted on."""


def own_tenant(ctx) -> int:
    """The tenant the step acts on: its run's own (the context the engine runs it in).
    A run's input naming another tenant is refused, whoever started it."""
    tenant_id = require_tenant_id("a lifecycle step")
    if int(ctx.input.get("tenant_id") or 0) != tenant_id:
        raise ForeignTenant("a lifecycle step acts only on its run's own tenant")
    return tenant_id


def _locked(ctx) -> TenantLifecycle:
    """The run's tenant's row, locked: FOR UPDATE needs the UPDATE policy, which the
    platform-claim write guard (tenancy/rls_platform.py) gives only to the platform."""
    tenant_id = own_tenant(ctx)
    with platform_access(f"lifecycle: lock tenant {tenant_id}'s row (run {ctx.run_id})"):
        return TenantLifecycle.objects.select_for_update().get(tenant_id=tenant_id)


def check(ctx) -> dict:
    row = _locked(ctx)
    transition = states.check(ctx.input["transition"], row.state)
    if transition.name == "purge":
        ensure_not_held(row.tenant_id)
    return {"from": row.state, "to": transition.target}


def _move(ctx, to_state: str, event: str, extra: dict) -> dict:
    row = _locked(ctx)
    before = row.state
    row.state, row.state_changed_at = to_state, timezone.now()
    # A platform row: written under the platform claim only (tenancy/rls_platform.py).
    reason = f"lifecycle: tenant {row.tenant_id} {before} -> {to_state} (run {ctx.run_id})"
    with platform_access(reason, actor=ctx.input.get("actor") or None):
        row.save(update_fields=["state", "state_changed_at"])
    tenant = Tenant.objects.get(pk=row.tenant_id)
    do_set_tenant_state(tenant, states.TENANT_STATE[to_state])
    payload = {"from": before, "to": to_state, "run": ctx.run_id, **extra}
    actor = ctx.input.get("actor", "")
    record_tenant_event(row.tenant_id, event, payload, actor=actor)
    record_platform_event(event, {"tenant": row.tenant_id, **payload}, actor=actor)
    return {"from": before, "to": to_state}


def apply(ctx) -> dict:
    transition = states.check(ctx.input["transition"], _locked(ctx).state)
    return _move(ctx, transition.target, workflow_name(transition.name), {})


def restore(ctx) -> dict:
    """Undo `apply`: back to the state it left (only if nothing moved it since)."""
    done = ctx.output or {}
    row = _locked(ctx)
    if not done or row.state != done.get("to"):
        return {"restored": False}
    _move(ctx, done["from"], f"{workflow_name(ctx.input['transition'])}.compensated", {})
    return {"restored": True}


def erase(ctx) -> dict:
    """Purge's work: the erasure feature destroys the tenant's keys and rows and signs
    the certificate. Imported here, when the step runs: erasure is built beside this
    module and must exist by the time a tenant is purged, not when the app loads."""
    ensure_not_held(own_tenant(ctx))  # a hold placed while the run waited
    try:
        from lifecycle_mgr.erasure import erase_tenant
    except ImportError as exc:
        raise ErasureUnavailable(
            "lifecycle_mgr.erasure.erase_tenant is not available: the tenant cannot be "
            f"purged until the erasure module is installed ({exc})"
        ) from exc
    actor = ctx.input.get("actor") or "system:lifecycle"
    result = erase_tenant(own_tenant(ctx), actor=actor)
    # The erasure certificate (a signed audit entry) is the evidence: the run keeps its id.
    if isinstance(result, dict):
        return result
    return {"erased": True, "certificate": getattr(result, "pk", None)}


def register() -> None:
    definitions.action("lifecycle.check", check, platform=True)
    definitions.action("lifecycle.apply", apply, platform=True)
    definitions.action("lifecycle.restore", restore, platform=True)
    definitions.action("lifecycle.erase", erase, platform=True)
    for name in states.TRANSITIONS:
        steps = [Step("check", action="lifecycle.check", read_only=True, retry=RETRY)]
        if name == "purge":
            steps.append(Step("erase", action="lifecycle.erase", timeout=3600, retry=RETRY))
        steps.append(
            Step("apply", action="lifecycle.apply", compensation="lifecycle.restore", retry=RETRY)
        )
        definitions.register(
            workflow_name(name),
            steps,
            title=f"Tenant lifecycle: {name}",
            strategy="manual" if name == "purge" else "automatic",
            platform=True,
        )
