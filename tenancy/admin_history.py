"""Admin history in the tenant of the row: writing it, and the hook for the audit log.

`TenantScopedAdmin` logs every addition, change and deletion here instead of Django's
unscoped `django_admin_log` (see tenancy/models/adminlog.py). Each entry is written in
the tenant of the object it is about: the current tenant for a tenant's staff, the
row's own tenant for a platform operator working under the escape hatch.

The foundation never imports the managers built on it, so whoever wants to know about
admin actions registers a callable in `admin_action_listeners` (the security manager
appends each action to the tenant's audit log, security_mgr/signals.py), exactly as
`tenancy.context.platform_access_listeners` works for the escape hatch. Listeners run
inside the admin's transaction, after the entry is written; a listener that raises
fails the action (an admin change that cannot be audited does not happen).
"""

from __future__ import annotations

import json

from django.contrib.contenttypes.models import ContentType

from tenancy.context import in_platform_access, tenant_context
from tenancy.models import AdminLogEntry, is_tenant_scoped

#: Callables `(entry: AdminLogEntry) -> None`, run for every entry written.
admin_action_listeners: list = []


def log_actions(request, objects, action_flag: int, change_message="") -> list[AdminLogEntry]:
    """One entry per object, in the object's tenant; returns the entries."""
    if isinstance(change_message, list):
        change_message = json.dumps(change_message)
    entries = []
    for obj in objects:
        if not is_tenant_scoped(type(obj)):
            raise TypeError(f"{type(obj).__name__} is not tenant-scoped: use the stock admin log")
        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        entry = AdminLogEntry(
            tenant_id=obj.tenant_id,
            user_id=request.user.pk,
            content_type_id=content_type.pk,
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            action_flag=action_flag,
            change_message=change_message,
        )
        if in_platform_access():
            # The operator acts on one tenant's row: its history (and its audit log)
            # are that tenant's, written as that tenant, never "everyone's".
            with tenant_context(obj.tenant_id):
                entry.save()
                _notify(entry)
        else:
            entry.save()  # in the context's tenant; a row of another tenant is refused
            _notify(entry)
        entries.append(entry)
    return entries


def _notify(entry: AdminLogEntry) -> None:
    for listener in admin_action_listeners:
        listener(entry)
