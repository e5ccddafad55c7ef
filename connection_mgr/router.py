"""The database router (settings.DATABASE_ROUTERS).

- Tenant-scoped models of a dedicated tenant (the tenant in context) go to its database,
  reads and writes; pooled tenants' rows stay on the default database.
- Other reads go to a healthy, fresh replica when configured (connection_mgr/replicas.py),
  never inside a transaction or after the request wrote.
- Migrations run everywhere except on replicas (they replay the primary's).
"""

from __future__ import annotations

from django.conf import settings

from connection_mgr import aliases, replicas
from tenancy.context import get_current_tenant_id
from tenancy.models.scoped import TenantScopedModel


def _tenant_alias(model) -> str | None:
    if not issubclass(model, TenantScopedModel):
        return None
    return aliases.tenant_alias(get_current_tenant_id())


class TenantDatabaseRouter:
    def db_for_read(self, model, **hints):
        alias = _tenant_alias(model)
        if alias is not None:
            return alias
        return replicas.read_alias()

    def db_for_write(self, model, **hints):
        replicas.mark_wrote()
        return _tenant_alias(model)

    def allow_relation(self, obj1, obj2, **hints):
        return True  # a dedicated tenant's rows point at platform rows of the default

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db.startswith("replica_") and settings.DATABASE_REPLICA_URLS:
            return False
        return None
