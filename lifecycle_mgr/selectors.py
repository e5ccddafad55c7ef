"""Reads of the tenant lifecycle for the API, the console and the facade."""

from __future__ import annotations

from lifecycle_mgr import states
from lifecycle_mgr.actions import running_transition
from lifecycle_mgr.holds import active_hold
from lifecycle_mgr.models import TenantLifecycle, TierPolicy
from lifecycle_mgr.workflows import PREFIX
from tenancy.context import tenant_context
from workflow_mgr.models import WorkflowRun


def lifecycle_of(tenant_id: int) -> TenantLifecycle | None:
    return (
        TenantLifecycle.objects.select_related("policy", "tenant")
        .filter(tenant_id=tenant_id)
        .first()
    )


def describe(row: TenantLifecycle) -> dict:
    """The lifecycle as the API and the console show it."""
    running = running_transition(row.tenant_id)
    hold = active_hold(row.tenant_id)
    return {
        "tenant": row.tenant.slug,
        "state": row.state,
        "tier": row.policy.name,
        "since": row.state_changed_at,
        "allowed_transitions": states.allowed_from(row.state),
        "running_transition": running.pk if running else None,
        "legal_hold": hold.reason if hold else None,
    }


def transition_history(tenant_id: int, limit: int = 50) -> list[dict]:
    """The tenant's lifecycle runs, newest first."""
    with tenant_context(tenant_id):
        runs = WorkflowRun.objects.filter(name__startswith=PREFIX).order_by("-pk")[:limit]
        return [
            {
                "run": run.pk,
                "transition": run.name.removeprefix(PREFIX),
                "state": run.state,
                "requested_by": run.requested_by,
                "created_at": run.created_at,
                "finished_at": run.finished_at,
                "error": run.error,
            }
            for run in runs
        ]


def tiers():
    return TierPolicy.objects.order_by("name")
