"""A deleted user's second factors in dedicated tenants (issue 17).

TOTP devices, backup codes and passkeys link to their user without a database
constraint: users are platform rows of the default database, and a dedicated tenant's
database holds none. On the default database Django's collector still emulates the
CASCADE; the tenants with a database of their own are visited here, each in its own
context (as sessions_mgr.actions.do_delete_sessions_of_user does for sessions), once the
user's deletion is committed: a deletion rolled back removes nothing.
"""

from __future__ import annotations

import logging

from django.db import transaction

from tenancy import db as tenant_db
from tenancy.context import TenantRef, platform_access, tenant_context

log = logging.getLogger(__name__)


def do_delete_factors_of_user(user_id: int) -> int:
    """Delete the user's factors in every dedicated tenant; how many rows went. A tenant
    whose database fails is logged and skipped: the others are still cleaned."""
    from security_mgr.models import BackupCode, PasskeyCredential, TOTPDevice

    with platform_access("deleting a deleted user's second factors in dedicated tenants"):
        dedicated = tenant_db.dedicated_tenant_ids()
    deleted = 0
    for tenant_id in dedicated:
        try:
            with tenant_context(TenantRef.for_id(tenant_id)), tenant_db.atomic():
                for model in (BackupCode, TOTPDevice, PasskeyCredential):
                    deleted += model.objects.filter(user_id=user_id).delete()[0]
        except Exception:  # one database down must not keep the others' factors
            log.exception("second factors of deleted user %s in tenant %s", user_id, tenant_id)
    return deleted


def on_user_deleted(sender, instance, using, **kwargs) -> None:
    user_id = instance.pk
    transaction.on_commit(lambda: do_delete_factors_of_user(user_id), using=using)
