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


def _forget_threat_policy(sender, instance, **kwargs):
    if instance.key == "security.threat_policy":
        from security_mgr import threats

        threats.forget_policies()


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from tenancy.models import TenantSetting

    if record_platform_access not in context.platform_access_listeners:
        context.platform_access_listeners.append(record_platform_access)
    for signal in (post_save, post_delete):
        signal.connect(
            _forget_threat_policy, sender=TenantSetting, dispatch_uid=f"sec-policy-{signal}"
        )
