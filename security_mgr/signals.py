"""Hooks into the foundation: every use of the platform escape hatch is appended to the
platform audit log (it happens with no tenant, so it cannot go to a tenant's log), and
every admin action and long-job event to the audit log of the tenant it concerns."""

from __future__ import annotations

from tenancy import context


def record_platform_access(reason: str, actor: str | None) -> None:
    import audit_mgr as audit

    audit.append(
        "platform.access",
        {"reason": reason},
        actor=actor or "",
        log=audit.platform_log(),
    )


def _admin_change(entry) -> tuple[dict, str]:
    """The `admin.change` payload and actor of an admin log entry (stock or scoped)."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    payload = {
        "action": {1: "added", 2: "changed", 3: "deleted"}.get(entry.action_flag, "?"),
        "model": model._meta.label if model is not None else "",
        "object_id": str(entry.object_id or ""),
        "object": entry.object_repr[:200],
    }
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=entry.user_id).first() if entry.user_id else None
    return payload, user.get_username() if user is not None else ""


def record_task_addressing(task_name: str, tenant_id: int, reason: str) -> None:
    """A sender under platform access sent a task into a tenant (tenancy.celery_guard):
    the platform log records which task, which tenant and why."""
    import audit_mgr as audit

    audit.append(
        "platform.task_addressed_tenant",
        {"task": task_name, "tenant_id": tenant_id, "reason": reason},
        log=audit.platform_log(),
    )


def record_admin_change(sender, instance, created, **kwargs):
    """Changes in the console to unscoped models (Django's LogEntry: tenants, members,
    users) go to the audit log of the tenant the console acts in, or to the platform
    log for platform operators. Scoped models never write LogEntry: see below."""
    if not created:
        return
    import audit_mgr as audit

    payload, actor = _admin_change(instance)
    tenant_id = context.get_current_tenant_id()
    log = audit.tenant_log(tenant_id) if tenant_id else audit.platform_log()
    audit.append("admin.change", payload, actor=actor, log=log)


def record_scoped_admin_action(entry) -> None:
    """A tenant-scoped admin action (tenancy.admin_history): appended to the audit log
    of the tenant the row belongs to, in the admin's transaction."""
    import audit_mgr as audit

    payload, actor = _admin_change(entry)
    audit.append("admin.change", payload, actor=actor, log=audit.tenant_log(entry.tenant_id))


def record_job_event(sender, job, event: str, actor: str = "", **kwargs) -> None:
    """A long job (jobs_mgr) was requested, cancelled, resumed, requeued after its
    worker died, or ended: appended to its tenant's audit log, in the same transaction."""
    import audit_mgr as audit

    audit.append(
        f"job.{event}",
        {
            "job": job.pk,
            "kind": job.kind,
            "state": job.state,
            "done": job.progress_done,
            "total": job.progress_total,
        },
        actor=actor or "",
        log=audit.tenant_log(job.tenant_id),
    )


def _forget_threat_policy(sender, instance, **kwargs):
    if instance.key == "security.threat_policy":
        from security_mgr import threats

        threats.forget_policies()


def _forget_enrolment(sender, instance, **kwargs):
    from django.db import transaction

    from security_mgr.mfa import forget_enrolment

    forget_enrolment(instance.user_id)
    # A request that read between this write and its commit may have kept the old answer.
    transaction.on_commit(lambda: forget_enrolment(instance.user_id))


def connect() -> None:
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
    from django.db.models.signals import post_delete, post_save

    from security_mgr import login_guard, probes
    from tenancy import admin_history
    from tenancy.models import TenantSetting
    from tenancy.signals import scoped_object_not_found

    post_save.connect(record_admin_change, sender=LogEntry, dispatch_uid="sec-admin-change")
    user_login_failed.connect(login_guard.on_login_failed, dispatch_uid="sec-login-failed")
    user_logged_in.connect(login_guard.on_logged_in, dispatch_uid="sec-logged-in")
    user_logged_out.connect(login_guard.on_logged_out, dispatch_uid="sec-logged-out")
    scoped_object_not_found.connect(probes.on_scoped_object_not_found, dispatch_uid="sec-probe")
    from jobs_mgr.signals import job_event

    job_event.connect(record_job_event, dispatch_uid="sec-job-event")
    if record_platform_access not in context.platform_access_listeners:
        context.platform_access_listeners.append(record_platform_access)
    from tenancy import celery_guard

    if record_task_addressing not in celery_guard.task_addressing_listeners:
        celery_guard.task_addressing_listeners.append(record_task_addressing)
    if record_scoped_admin_action not in admin_history.admin_action_listeners:
        admin_history.admin_action_listeners.append(record_scoped_admin_action)
    for signal in (post_save, post_delete):
        signal.connect(
            _forget_threat_policy, sender=TenantSetting, dispatch_uid=f"sec-policy-{signal}"
        )
    from django.contrib.auth import get_user_model

    from security_mgr import user_deletion

    # A deleted user's factors in dedicated tenants (the collector sees the default only).
    post_delete.connect(
        user_deletion.on_user_deleted, sender=get_user_model(), dispatch_uid="sec-user-deleted"
    )
    from security_mgr.models import PasskeyCredential, TOTPDevice
    from tenancy.models import Membership

    for model in (TOTPDevice, PasskeyCredential, Membership):
        for signal in (post_save, post_delete):
            signal.connect(
                _forget_enrolment,
                sender=model,
                dispatch_uid=f"sec-enrolment-{model.__name__}-{signal}",
            )
