from celery import shared_task

from security_mgr import actions, audit


@shared_task
def sign_tree_head_task() -> dict:
    """Per tenant (beat sends it through fan_out, every minute by default): sign the
    audit log's current head if it moved since the last one, so the entries that only
    the head row's seal vouches for are at most a minute's worth."""
    head = audit.sign_tree_head(audit.tenant_log(), only_if_moved=True)
    return {"tree_size": head.tree_size, "root_hash": bytes(head.root_hash).hex()}


@shared_task(tenant_scoped=False)
def sign_platform_tree_head_task() -> dict:
    head = audit.sign_tree_head(audit.platform_log(), only_if_moved=True)
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


@shared_task
def sequence_pending_audit_task() -> int:
    """Numbers the tenant's pending audit entries: asked by `audit.sequence_soon` after
    audited commits, and per tenant by the beat sweep (`sweep_pending_audit_task`) for
    whatever a failed or interrupted sequencer left pending."""
    log = audit.tenant_log()
    if not log.pending().exists():
        return 0
    return audit.sequence_pending(log)


@shared_task(tenant_scoped=False)
def sequence_platform_pending_audit_task() -> int:
    log = audit.platform_log()
    if not log.pending().exists():
        return 0
    return audit.sequence_pending(log)


@shared_task
def rotate_due_keys_task() -> list[str]:
    """Per tenant: rotate the rings whose automatic rotation period has elapsed."""
    return actions.rotate_due_keys()


@shared_task(bind=True)
def rewrap_task(self, job_id: int, batch_size: int = 500) -> dict:
    """Run (or continue) a rewrap job here, with this batch size. New rewraps are sent
    as `jobs_mgr.tasks.run_job_task`; this stays for messages sent before that and for
    callers that choose the batch size. Progress is on the job (jobs_mgr)."""
    from security_mgr.rewrap import run_rewrap

    job = run_rewrap(job_id, batch_size=batch_size)
    return {
        "job": job.pk,
        "state": job.state,
        "rows_scanned": job.checkpoint.get("rows_scanned", 0),
        "values_rewrapped": job.checkpoint.get("values_rewrapped", 0),
    }


@shared_task
def verify_audit_task() -> dict:
    """Per tenant (beat, through fan_out): verify the log and record the outcome, which
    the dashboard shows as the last verification. A failure is also logged loudly."""
    import logging

    log = audit.tenant_log()
    report = audit.verify_log(log)
    recorded = audit.append(
        "audit.verified",
        {"ok": report.ok, "entries": report.entries, "root": report.root_hash},
        actor="scheduler",
    )
    audit.entry_of(recorded)  # in the log now, for the dashboard, even inside a transaction
    if not report.ok:
        logging.getLogger("dim.audit").error(
            "audit_verification_failed", extra={"log": log.label, "problems": report.problems}
        )
    return {"ok": report.ok, "entries": report.entries, "problems": report.problems}


@shared_task
def check_probe_task(action: str, user_id: int) -> dict:
    """A run of 404s past the policy's threshold (security_mgr/probes.py): apply the
    policy's action to the user's sessions in the task's tenant, off the request. It
    gets no id and asks no other tenant anything: only the source's count led here."""
    return {"action": action, "sessions": actions.do_react_to_probe(action, user_id)}
