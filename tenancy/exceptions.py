class TenantContextMissing(RuntimeError):
    """A tenant-scoped operation ran with no tenant in context. Never caught to
    "return all rows": the only ways forward are tenant_context() or platform_access()."""


class TenantMismatch(ValueError):
    """A write named a tenant other than the one in context, or linked to another
    tenant's row, or tried to move a row to another tenant."""


class AppendOnlyViolation(PermissionError):
    """An update or delete of a model declaring `append_only = True` (the audit log).
    The database refuses it too (tenancy/rls.py grants such tables SELECT and INSERT)."""
