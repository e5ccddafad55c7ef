"""The audit log's Celery tasks: signing tree heads (beat, per tenant), sequencing what
is pending (asked by the sequencer after audited commits, and swept by beat), and the
periodic verification. Thin: each takes no arguments beyond its tenant context.

Layering: this module imports the log's modules; the sequencer asks for its tasks by
name (`sequencer.SEQUENCE_TASK`), never by importing this module."""

import logging

from celery import shared_task

from audit_mgr.heads import sign_tree_head
from audit_mgr.logs import platform_log, tenant_log
from audit_mgr.sequencer import (
    SEQUENCE_PLATFORM_TASK,
    SEQUENCE_TASK,
    append,
    entry_of,
    sequence_pending,
)
from audit_mgr.verify import verify_log


@shared_task
def sign_tree_head_task() -> dict:
    """Per tenant (beat sends it through fan_out, every minute by default): sign the
    audit log's current head if it moved since the last one, so the entries that only
    the head row's seal vouches for are at most a minute's worth."""
    head = sign_tree_head(tenant_log(), only_if_moved=True)
    return {"tree_size": head.tree_size, "root_hash": bytes(head.root_hash).hex()}


@shared_task(tenant_scoped=False)
def sign_platform_tree_head_task() -> dict:
    head = sign_tree_head(platform_log(), only_if_moved=True)
    return {"tree_size": head.tree_size, "root_hash": bytes(head.root_hash).hex()}


@shared_task(tenant_scoped=False, reaches_every_tenant=True)
def sweep_pending_audit_task() -> int:
    """Beat: the sequencer's safety net, once per tenant whatever its state (a tenant
    suspended right after its last audited commits must not keep them unnumbered)."""
    from tenancy.context import tenant_context
    from tenancy.models import Tenant

    sent = 0
    for tenant in Tenant.objects.only("id", "slug", "cache_generation"):
        with tenant_context(tenant):
            sequence_pending_audit_task.apply_async()
        sent += 1
    return sent


@shared_task(name=SEQUENCE_TASK)
def sequence_pending_audit_task() -> int:
    """Numbers the tenant's pending audit entries: asked by `sequencer.sequence_soon` after
    audited commits, and per tenant by the beat sweep (`sweep_pending_audit_task`) for
    whatever a failed or interrupted sequencer left pending."""
    log = tenant_log()
    if not log.pending().exists():
        return 0
    return sequence_pending(log)


@shared_task(name=SEQUENCE_PLATFORM_TASK, tenant_scoped=False)
def sequence_platform_pending_audit_task() -> int:
    log = platform_log()
    if not log.pending().exists():
        return 0
    return sequence_pending(log)


@shared_task
def verify_audit_task() -> dict:
    """Per tenant (beat, through fan_out): verify the log and record the outcome, which
    the dashboard shows as the last verification. A failure is also logged loudly."""
    log = tenant_log()
    report = verify_log(log)
    recorded = append(
        "audit.verified",
        {"ok": report.ok, "entries": report.entries, "root": report.root_hash},
        actor="scheduler",
    )
    entry_of(recorded)  # in the log now, for the dashboard, even inside a transaction
    if not report.ok:
        logging.getLogger("dim.audit").error(
            "audit_verification_failed", extra={"log": log.label, "problems": report.problems}
        )
    return {"ok": report.ok, "entries": report.entries, "problems": report.problems}
