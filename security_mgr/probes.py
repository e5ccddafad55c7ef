"""Cross-tenant probing: runs of API 404s on ids that exist in other tenants.

Every 404 of a scoped detail route costs one counter increment per user and source,
whatever the id. Past the policy's `probe_threshold`, each further 404 is handed to a
Celery task that asks, under audited platform access, whether the id belongs to another
tenant, and feeds the answer to `analyze_threat("not_found")`; when that reports a
probe, the user's sessions in this tenant are revoked. The request never waits for the
check, so an id that exists elsewhere is not answered any slower than a random one:
the 404 stays indistinguishable, by body and by time.
"""

from __future__ import annotations

from security_mgr import threats
from tenancy.context import get_current_tenant

PREFILTER = "thr:404:{u}:{s}"


def on_scoped_object_not_found(sender, request=None, lookup=None, **kwargs) -> None:
    from security_mgr.login_guard import client_ip
    from security_mgr.tasks import check_probe_task

    if get_current_tenant() is None or request is None:
        return
    user = getattr(request, "user", None)
    username = user.get_username() if user is not None and user.is_authenticated else ""
    ip = client_ip(request)
    policy = threats.threat_policy()
    count = threats.count(
        PREFILTER.format(u=threats.hashed(username), s=threats.hashed(ip)),
        int(policy["window_seconds"]),
    )
    if count > policy["probe_threshold"]:
        check_probe_task.delay(
            sender._meta.label, str(lookup)[:200], username, getattr(user, "pk", None), ip
        )


def check_probe(model_label: str, lookup: str, username: str, user_id, ip: str) -> dict:
    """In the tenant that answered 404: does `lookup` exist in another tenant?"""
    from django.apps import apps
    from django.core.exceptions import ValidationError

    from tenancy.context import platform_access, require_tenant_id

    tenant_id = require_tenant_id("check_probe")
    model = apps.get_model(model_label)
    with platform_access("threat detection: does a probed id belong to another tenant?"):
        try:
            elsewhere = model.objects.filter(pk=lookup).exclude(tenant_id=tenant_id).exists()
        except (ValueError, TypeError, ValidationError):
            elsewhere = False  # not even a valid id: nobody has it
    verdict = threats.analyze_threat(
        "not_found",
        username=username,
        ip=ip,
        details={"exists_elsewhere": elsewhere, "model": model_label},
    )
    revoked = 0
    if "revoke_sessions" in verdict.actions and user_id is not None:
        from sessions_mgr.actions import do_revoke_user_sessions

        revoked = do_revoke_user_sessions(user_id, reason="cross_tenant_probe")
    return {"exists_elsewhere": elsewhere, "actions": verdict.actions, "revoked": revoked}
