"""Probing: runs of API 404s from one source, whatever the ids.

Every 404 of a scoped API detail route counts once against its source, the user and
the client address, in the tenant the request acts in (`analyze_threat("not_found")`:
one counter increment). Nothing asks whether the refused id exists anywhere: a random
id and another tenant's id cost the same, are answered by the same 404 (body and
timing), and draw the same reaction. So no reaction can tell a tenant which ids other
tenants hold (issue 9, class 6: the reaction of an earlier version, which revoked only
after 404s on ids that existed elsewhere, was such an oracle).

Past the policy's `probe_threshold`, each further 404 asks `check_probe_task` (the
request never waits for it) to apply the policy's `probe_action` to the user's sessions
in this tenant: `revoke` (the default; reason `probing`), `step_up`, or `record`
(nothing). When the threshold is crossed, and each time the excess doubles, a
`security.cross_tenant_probe` entry is appended to the *platform* audit log, naming the
tenant, the user, the source and the count. It is never a SecurityEvent of the tenant
nor an entry of its audit log, so the tenant's admins (event list, dashboard, API) do
not see it; what they see is their user's sessions ending with reason `probing`, the
same for random and foreign ids.
"""

from __future__ import annotations

from security_mgr import threats
from tenancy.context import get_current_tenant


def on_scoped_object_not_found(sender, request=None, lookup=None, **kwargs) -> None:
    """Receiver of tenancy's `scoped_object_not_found`. `lookup` is ignored on purpose:
    the reaction may depend on who asks and how often, never on what was asked for."""
    from security_mgr.login_guard import source_of
    from security_mgr.tasks import check_probe_task

    if get_current_tenant() is None or request is None:
        return
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    username = user.get_username() if authenticated else ""
    verdict = threats.analyze_threat(
        "not_found", username=username, ip=source_of(request), details={"model": sender._meta.label}
    )
    action = next((a for a in verdict.actions if a in ("revoke_sessions", "step_up")), None)
    if action is not None and authenticated:
        check_probe_task.delay(action, user.pk)
