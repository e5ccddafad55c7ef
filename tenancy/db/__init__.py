"""The database of a tenant's rows, for code below (or beside) the connection manager.

A pooled tenant's rows live in the default database; a dedicated tenant's in a database
of its own (connection_mgr). The router sends the ORM's reads and writes of scoped
models there by itself, but whatever names a database on its own must name the right
one: `transaction.atomic()` and `transaction.on_commit()` act on the default database,
and `django.db.connection` *is* the default database's. A dedicated tenant's writes
would then run outside the caller's transaction (its `select_for_update` refused) and
its raw SQL would reach the shared tables. These helpers name the tenant's database:

    with tenant_db.atomic():              # the tenant in context
        ...
    tenant_db.on_commit(None, send)       # after *that* database commits
    with tenant_db.connection_for().cursor() as cursor: ...

`tenant` is a Tenant, a TenantRef, a tenant id, or None for the tenant in context (no
tenant: the default database). The answer comes from the one-provider hook
`tenant_database` (connection_mgr); without a provider every tenant is pooled.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def _tenant_id(tenant) -> int | None:
    if tenant is None:
        from tenancy.context import get_current_tenant_id

        return get_current_tenant_id()
    if isinstance(tenant, int):
        return tenant
    return getattr(tenant, "pk", None) or getattr(tenant, "id", None)


def alias_for(tenant=None) -> str:
    """The alias holding `tenant`'s scoped rows ("default" when pooled)."""
    from tenancy import hooks

    tenant_id = _tenant_id(tenant)
    if tenant_id is None or not hooks.tenant_database.provided:
        return DEFAULT_DB_ALIAS
    return hooks.tenant_database.call(tenant_id) or DEFAULT_DB_ALIAS


def dedicated_tenant_ids() -> list[int]:
    """Tenants whose rows live in a database of their own: platform work that reads the
    shared tables (a user's rows in every tenant) must visit each of these in its own
    context too. Call it where the tenants table may be read (platform access)."""
    from tenancy import hooks
    from tenancy.models import Tenant

    if not hooks.tenant_database.provided:
        return []
    ids = Tenant.objects.using(DEFAULT_DB_ALIAS).values_list("pk", flat=True)
    return [pk for pk in ids if alias_for(pk) != DEFAULT_DB_ALIAS]


def connection_for(tenant=None):
    """Django's connection to `tenant`'s database (raw SQL on its scoped tables)."""
    return connections[alias_for(tenant)]


def atomic(tenant=None, **kwargs):
    """`transaction.atomic` on `tenant`'s database."""
    return transaction.atomic(using=alias_for(tenant), **kwargs)


def on_commit(tenant, fn, *, robust: bool = False) -> None:
    """Run `fn` once `tenant`'s database commits the current transaction there."""
    transaction.on_commit(fn, using=alias_for(tenant), robust=robust)


def atomic_function(fn):
    """Decorator: `fn` runs in a transaction of the database of the tenant in context
    *at call time* (`@transaction.atomic` would pick the default database)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with atomic():
            return fn(*args, **kwargs)

    return wrapper
