"""The database router (settings.DATABASE_ROUTERS).

- Tenant-scoped models of a dedicated tenant (the tenant in context) go to its database,
  reads and writes; pooled tenants' rows stay on the default database.
- Other reads go to a healthy, fresh replica when configured (connection_mgr/replicas.py),
  never inside a transaction or after the request wrote.
- Migrations run everywhere except on replicas (they replay the primary's). While
  `migrate` runs for an alias (pre_migrate to post_migrate, in that thread), every
  model's reads and writes go to that alias: the data migrations use the default
  managers, and must act on the database being migrated.
"""

from __future__ import annotations

import contextvars

from django.conf import settings

from connection_mgr import aliases, replicas
from tenancy.context import get_current_tenant_id
from tenancy.models.scoped import TenantScopedModel

migrating: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dim_migrating_alias", default=None
)


def pre_migrate(sender, using="default", **kwargs):
    migrating.set(using)


def post_migrate(sender, using="default", **kwargs):
    from django.apps import apps

    # post_migrate is sent once per app with models; the receivers of earlier apps
    # (RLS, schedules) still act on `using`: clear after the last one.
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if with_models and sender is with_models[-1]:
        migrating.set(None)


def _tenant_alias(model) -> str | None:
    if not issubclass(model, TenantScopedModel) or getattr(model, "stays_on_default", False):
        return None  # `stays_on_default`: the workflow runs that drive a move (moving.py)
    return aliases.tenant_alias(get_current_tenant_id())


def _platform_row_of(model, hints) -> str | None:
    """A platform row reached from a tenant's row (`device.user`, `session.tenant`) lives
    in the default database: without an answer here Django would look in the database
    the tenant's row came from, and a dedicated tenant's database holds no users."""
    instance = hints.get("instance")
    if isinstance(instance, TenantScopedModel) and not issubclass(model, TenantScopedModel):
        return "default"
    return None


class TenantDatabaseRouter:
    def db_for_read(self, model, **hints):
        alias = migrating.get() or _tenant_alias(model)
        if alias is not None:
            return alias
        return replicas.read_alias() or _platform_row_of(model, hints)

    def db_for_write(self, model, **hints):
        replicas.mark_wrote()
        return migrating.get() or _tenant_alias(model) or _platform_row_of(model, hints)

    def allow_relation(self, obj1, obj2, **hints):
        return True  # a dedicated tenant's rows point at platform rows of the default

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db.startswith("replica_") and settings.DATABASE_REPLICA_URLS:
            return False
        return None
