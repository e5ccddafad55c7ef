"""Hooks into the foundation: every use of the platform escape hatch is appended to the
platform audit log (it happens with no tenant, so it cannot go to a tenant's log)."""

from __future__ import annotations

from tenancy import context


def record_platform_access(reason: str, actor: str | None) -> None:
    from security_mgr import audit

    audit.append(
        "platform.access",
        {"reason": reason},
        actor=actor or "",
        log=audit.platform_log(),
    )


def record_admin_change(sender, instance, created, **kwargs):
    """Every change made in the console (Django's LogEntry) goes to the audit log of the
    tenant it was made in, or to the platform log for platform operators."""
    if not created:
        return
    from security_mgr import audit

    payload = {
        "action": {1: "added", 2: "changed", 3: "deleted"}.get(instance.action_flag, "?"),
        "model": instance.content_type.model_class()._meta.label
        if instance.content_type_id and instance.content_type.model_class()
        else "",
        "object_id": str(instance.object_id or ""),
        "object": instance.object_repr[:200],
    }
    actor = instance.user.get_username() if instance.user_id else ""
    tenant_id = context.get_current_tenant_id()
    log = audit.tenant_log(tenant_id) if tenant_id else audit.platform_log()
    audit.append("admin.change", payload, actor=actor, log=log)


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
    from tenancy.models import TenantSetting
    from tenancy.signals import scoped_object_not_found

    post_save.connect(record_admin_change, sender=LogEntry, dispatch_uid="sec-admin-change")
    user_login_failed.connect(login_guard.on_login_failed, dispatch_uid="sec-login-failed")
    user_logged_in.connect(login_guard.on_logged_in, dispatch_uid="sec-logged-in")
    user_logged_out.connect(login_guard.on_logged_out, dispatch_uid="sec-logged-out")
    scoped_object_not_found.connect(probes.on_scoped_object_not_found, dispatch_uid="sec-probe")
    if record_platform_access not in context.platform_access_listeners:
        context.platform_access_listeners.append(record_platform_access)
    for signal in (post_save, post_delete):
        signal.connect(
            _forget_threat_policy, sender=TenantSetting, dispatch_uid=f"sec-policy-{signal}"
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
