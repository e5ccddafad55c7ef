class TenantContextMissing(RuntimeError):
    """A tenant-scoped operation ran with no tenant in context. Never caught to
    "return all rows": the only ways forward are tenant_context() or platform_access()."""


class UnscopedSQLRefused(TenantContextMissing):
    """SQL that the tenant filter cannot reach (`extra(tables=/where=/select=)`,
    `RawSQL`, `raw()` on a queryset not built by the scoped manager) named a
    tenant-scoped table outside `platform_access()`. A subclass of TenantContextMissing
    because the fix is a context: the ORM inside tenant_context(), or platform_access()."""


class TenantMismatch(ValueError):
    """A write named a tenant other than the one in context, or linked to another
    tenant's row, or tried to move a row to another tenant."""


class ExplicitPrimaryKey(TenantMismatch):
    """A tenant-scoped row was created with a primary key chosen by the caller outside
    `platform_access()`. Refused whatever the key, so that creating a row never tells
    whether that key belongs to another tenant (a duplicate-key error would)."""


class AppendOnlyViolation(PermissionError):
    """An update or delete of a model declaring `append_only = True` (the audit log).
    The database refuses it too (tenancy/rls.py grants such tables SELECT and INSERT)."""
