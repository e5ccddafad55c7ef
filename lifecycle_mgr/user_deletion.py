"""A deleted user's exports in dedicated tenants (issue 17).

ExportArchive.user links to its user without a database constraint: users are platform
rows of the default database, and a dedicated tenant's database holds none. On the
default database Django's collector still emulates SET_NULL; the tenants with a
database of their own are visited here, each in its own context, once the user's
deletion is committed (a deletion rolled back changes nothing). The archive stays: it is
the tenant's record that an export was made.
"""

from __future__ import annotations

import logging

from django.db import transaction

from tenancy import db as tenant_db
from tenancy.context import TenantRef, platform_access, tenant_context

log = logging.getLogger(__name__)


def do_forget_user_in_exports(user_id: int) -> int:
    """Set the user of their exports to NULL in every dedicated tenant; how many rows. A
    tenant whose database fails is logged and skipped: the others are still updated."""
    from lifecycle_mgr.gdpr_models import ExportArchive

    with platform_access("unlinking a deleted user's exports in dedicated tenants"):
        dedicated = tenant_db.dedicated_tenant_ids()
    changed = 0
    for tenant_id in dedicated:
        try:
            with tenant_context(TenantRef.for_id(tenant_id)), tenant_db.atomic():
                changed += ExportArchive.objects.filter(user_id=user_id).update(user=None)
        except Exception:  # one database down must not stop the others
            log.exception("exports of deleted user %s in tenant %s", user_id, tenant_id)
    return changed


def on_user_deleted(sender, instance, using, **kwargs) -> None:
    user_id = instance.pk
    transaction.on_commit(lambda: do_forget_user_in_exports(user_id), using=using)
