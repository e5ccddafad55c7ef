from tenancy.models.adminlog import AdminLogEntry
from tenancy.models.preference import UserPreference
from tenancy.models.scoped import (
    TenantForeignKey,
    TenantScopedManager,
    TenantScopedModel,
    TenantScopedQuerySet,
    is_tenant_scoped,
    scoped_models,
)
from tenancy.models.setting import TenantSetting
from tenancy.models.tenant import (
    ROLE_RANK,
    IsolationMode,
    Membership,
    Role,
    Tenant,
    TenantState,
    TenantTier,
)

__all__ = [
    "ROLE_RANK",
    "AdminLogEntry",
    "IsolationMode",
    "Membership",
    "Role",
    "Tenant",
    "TenantForeignKey",
    "TenantScopedManager",
    "TenantScopedModel",
    "TenantScopedQuerySet",
    "TenantSetting",
    "TenantState",
    "TenantTier",
    "UserPreference",
    "is_tenant_scoped",
    "scoped_models",
]
