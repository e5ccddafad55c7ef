"""Writes of the tenant lifecycle: enrolling a tenant with a tier, and asking for a
transition (which starts its workflow: lifecycle_mgr.workflows). Every refusal is raised
before anything is written: an unknown tier, an illegal transition, one already running,
a purge under legal hold."""

from __future__ import annotations

from django.db import connections, transaction
from django.utils.translation import gettext as _

from audit_mgr.actions import record_platform_event, record_tenant_event
from lifecycle_mgr import states
from lifecycle_mgr.holds import ensure_not_held
from lifecycle_mgr.models import LifecycleState, TenantLifecycle, TierPolicy
from lifecycle_mgr.workflows import PREFIX, workflow_name
from tenancy.context import platform_access, tenant_context
from tenancy.models import Tenant
from workflow_mgr.actions import create_run
from workflow_mgr.models import RUN_FINISHED, WorkflowRun


class UnknownTier(ValueError):
    pass


def tier(name: str) -> TierPolicy:
    """A tier by name; the seed's spelling ("enterprise_tier") is accepted too."""
    name = (name or "").strip().removesuffix("_tier")
    found = TierPolicy.objects.filter(name=name).first()
    if found is None:
        names = ", ".join(TierPolicy.objects.values_list("name", flat=True))
        raise UnknownTier(
            _("Unknown tier %(name)r; one of: %(names)s.") % {"name": name, "names": names}
        )
    return found


def create_tenant_lifecycle(
    tenant_id: int, lifecycle_policy: str = "enterprise_tier", *, actor: str = ""
) -> TenantLifecycle:
    """Enrol the tenant in the lifecycle with the tier's policy: a pending tenant in state
    `requested`, one that exists already in the state it is in (active, suspended,
    archived),
    the tenant's tier and isolation mode following the tier. Asking again returns the existing
    row with its tier changed if another was named (audited either way)."""
    policy = tier(lifecycle_policy)
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        raise Tenant.DoesNotExist(_("No tenant %(id)s.") % {"id": tenant_id})
    with tenant_context(tenant), transaction.atomic():
        # A tenant that already serves joins where it is (enrolling must never take it
        # offline); a new (pending) one starts at `requested`.
        start = states.INITIAL_STATE.get(tenant.state, LifecycleState.REQUESTED)
        # A platform row: written under the platform claim only (tenancy/rls_platform.py).
        with platform_access(f"lifecycle: enrol tenant {tenant.pk} ({policy.name})", actor=actor):
            row, created = TenantLifecycle.objects.select_for_update().get_or_create(
                tenant=tenant, defaults={"policy": policy, "state": start}
            )
            if not created and row.policy_id != policy.pk:
                row.policy = policy
                row.save(update_fields=["policy"])
        tenant.tier = (
            policy.name if policy.name in ("free", "standard", "enterprise") else tenant.tier
        )
        tenant.isolation_mode = policy.isolation_mode
        tenant.save(update_fields=["tier", "isolation_mode", "updated_at"])
        event = "lifecycle.created" if created else "lifecycle.tier_changed"
        payload = {"tier": policy.name, "state": row.state}
        record_tenant_event(tenant.pk, event, payload, actor=actor)
        record_platform_event(event, {"tenant": tenant.pk, **payload}, actor=actor)
    return row


def running_transition(tenant_id: int) -> WorkflowRun | None:
    with tenant_context(tenant_id):
        return (
            WorkflowRun.objects.filter(name__startswith=PREFIX)
            .exclude(state__in=RUN_FINISHED)
            .order_by("-pk")
            .first()
        )


def _serialise(tenant_id: int) -> None:
    """One transition request per tenant at a time (PostgreSQL: an advisory lock; the
    row lock below does the rest on SQLite, which serialises writers anyway)."""
    connection = connections["default"]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext('dim_lifecycle'), %s)", [tenant_id]
            )


def request_transition(tenant_id: int, name: str, *, actor: str = "") -> WorkflowRun:
    """Start `lifecycle.<name>` for the tenant; IllegalTransition (unknown, not from this
    state, another transition running) or LegalHoldActive (purge) otherwise, and then
    nothing is written."""
    transition = states.transition(name)
    with tenant_context(tenant_id), transaction.atomic():
        _serialise(tenant_id)
        # FOR UPDATE needs the UPDATE policy: the platform claim (rls_platform).
        with platform_access(f"lifecycle: lock tenant {tenant_id}'s row ({name})", actor=actor):
            row = TenantLifecycle.objects.select_for_update().filter(tenant_id=tenant_id).first()
        if row is None:
            raise states.IllegalTransition(
                _("Tenant %(id)s is not enrolled in the lifecycle.") % {"id": tenant_id},
                code="not_enrolled",
                status=404,
            )
        states.check(transition.name, row.state)
        if transition.name == "purge":
            ensure_not_held(tenant_id)
        busy = running_transition(tenant_id)
        if busy is not None:
            raise states.IllegalTransition(
                _("Transition %(name)s (run %(run)s) is still running; wait for it to end.")
                % {"name": busy.name.removeprefix(PREFIX), "run": busy.pk},
                code="transition_running",
            )
        return create_run(
            workflow_name(transition.name),
            input={"tenant_id": tenant_id, "transition": transition.name, "actor": actor[:150]},
            actor=actor,
            platform=True,
        )
