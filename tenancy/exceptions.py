class TenantContextMissing(RuntimeError):
    """A tenant-scoped operation ran with no tenant in context. Never caught to
    "return all rows": the only ways forward are tenant_context() or platform_access()."""


class TenantMismatch(ValueError):
    """A write named a tenant other than the one in context, or linked to another
    tenant's row, or tried to move a row to another tenant."""
