"""Writes of the connection manager: pool sizes at run time, and a tenant's isolation
mode. Each validates everything first and leaves nothing half-done when it refuses."""

from __future__ import annotations

from django.core.management import call_command
from django.db import DatabaseError, connections, transaction

from connection_mgr import aliases, copying, pools
from connection_mgr.models import Mode, TenantDatabase
from tenancy.context import platform_access


class ConnectionUsageError(ValueError):
    """Bad input: the API answers 400 (or 409 with `conflict`) with these reasons."""

    def __init__(self, message: str, *, reasons: list[str] | None = None, conflict=False):
        super().__init__(message)
        self.reasons = reasons or [message]
        self.conflict = conflict


def do_resize_pool(alias: str, min_size: int, max_size: int) -> dict:
    """Resize the alias's psycopg pool now (psycopg_pool grows or shrinks it in the
    background), and for pools built later in this process. The AI manager's advice
    calls this."""
    if alias not in connections.settings:
        raise ConnectionUsageError(f"No database alias {alias!r}.")
    if not (isinstance(min_size, int) and isinstance(max_size, int)) or min_size < 0:
        raise ConnectionUsageError("min_size and max_size must be whole numbers, min_size >= 0.")
    if max_size < max(min_size, 1):
        raise ConnectionUsageError("max_size must be at least min_size and at least 1.")
    pool = pools.pool_of(alias)
    if pool is None:
        raise ConnectionUsageError(f"Database {alias!r} has no connection pool.")
    pool.resize(min_size, max_size)
    options = connections.settings[alias]["OPTIONS"].get("pool")
    if isinstance(options, dict):
        options.update(min_size=min_size, max_size=max_size)
    return pools.pool_stats(alias)


def _probe(alias: str, url: str, label: str, options: dict | None = None) -> list[str]:
    """Register `alias` for `url` and check that it answers; reasons if not."""
    try:
        aliases.register(alias, url, options=options)
    except aliases.InvalidDatabaseURL as exc:
        return [f"{label}: {exc}"]
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return [f"{label}: the database does not answer ({str(exc).strip()[:200]})"]
    return []


def do_make_dedicated(tenant, url: str, *, owner_url: str = "", actor: str = "system"):
    """Give a tenant a database of its own: migrate it as the owner (RLS with FORCE,
    grants to the runtime role), copy the tenant's platform row (its rows' foreign keys
    point at it) and its scoped rows (copying.py; tenants with rows linked to users are
    refused), then route. The rows left in the shared tables are not purged yet."""
    if TenantDatabase.objects.filter(tenant=tenant, mode=Mode.DEDICATED).exists():
        raise ConnectionUsageError("The tenant is dedicated already.", conflict=True)
    alias = f"tenant_{tenant.pk}"
    owner_alias = f"{alias}_owner"
    reasons = _probe(alias, url, "url") + _probe(
        owner_alias, owner_url or url, "owner_url", {"pool": False}
    )
    if reasons:
        aliases.unregister(alias)
        aliases.unregister(owner_alias)
        raise ConnectionUsageError("The database cannot be used.", reasons=reasons)
    try:
        call_command("migrate", database=owner_alias, verbosity=0, interactive=False)
        _copy_tenant_row(tenant, owner_alias)
        copying.copy_tenant_rows(tenant, "default", owner_alias)
        # The routing map is written under the platform claim only (rls_platform).
        with (
            platform_access(f"route tenant {tenant.pk} to its dedicated database", actor=actor),
            transaction.atomic(using="default"),
        ):
            TenantDatabase.objects.update_or_create(
                tenant=tenant,
                defaults={
                    "mode": Mode.DEDICATED,
                    "alias": alias,
                    "url": url,
                    "owner_url": owner_url,
                },
            )
    except copying.CannotCopy as exc:
        aliases.unregister(alias)
        raise ConnectionUsageError(str(exc), conflict=True) from None
    except Exception:
        aliases.unregister(alias)
        raise
    finally:
        aliases.unregister(owner_alias)
    aliases.reset()
    return alias


def _copy_tenant_row(tenant, using: str) -> None:
    from tenancy.models import Tenant

    with platform_access("dedicated database: the tenant's platform row"):
        values = {f.attname: getattr(tenant, f.attname) for f in Tenant._meta.concrete_fields}
        Tenant.objects.using(using).update_or_create(pk=tenant.pk, defaults=values)


def do_make_pooled(tenant, *, actor: str = "system") -> None:
    """Route an (empty) dedicated tenant back to the shared tables."""
    row = TenantDatabase.objects.filter(tenant=tenant).first()
    if row is None or row.mode == Mode.POOLED:
        raise ConnectionUsageError("The tenant is pooled already.", conflict=True)
    row.mode = Mode.POOLED
    with platform_access(f"route tenant {tenant.pk} back to the shared tables", actor=actor):
        row.save(update_fields=["mode", "updated_at"])
    aliases.unregister(row.alias)
    aliases.reset()
