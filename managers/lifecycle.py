"""The seed's Lifecycle Manager: `from managers import LifecycleManager`.

    lifecycle = LifecycleManager()
    await lifecycle.create_tenant_lifecycle(tenant_id="new_tenant",
                                            lifecycle_policy="enterprise_tier")
    lifecycle.transition_sync("new-tenant", "provision")     # a lifecycle.provision run
    lifecycle.quota_usage_sync("new-tenant")

Thin over `lifecycle_mgr` (docs/compliance.md, docs/architecture.md): a tenant is named
by id or slug; a tenant that does not exist yet is created (pending) by
`create_tenant_lifecycle`, as the seed's example expects. Sync methods `<name>_sync`,
async twins `<name>` (managers/twins.py).
"""

from __future__ import annotations

from managers.cache import _tenant
from managers.twins import async_twins

__all__ = ["LifecycleManager"]


def _describe(tenant_id: int) -> dict:
    from lifecycle_mgr import selectors

    return selectors.describe(selectors.lifecycle_of(tenant_id))


@async_twins
class LifecycleManager:
    def create_tenant_lifecycle_sync(
        self, tenant_id, lifecycle_policy: str = "enterprise_tier", *, actor: str = ""
    ) -> dict:
        """Enrol the tenant with the tier (`enterprise_tier`, `standard`, ...); a tenant
        named by a slug that does not exist yet is created, pending."""
        from lifecycle_mgr import actions
        from tenancy.models import Tenant, TenantState

        try:
            tenant = _tenant(tenant_id)
        except LookupError:
            if isinstance(tenant_id, int) or str(tenant_id).isdigit():
                raise
            slug = str(tenant_id).strip().lower().replace("_", "-")
            tenant = Tenant(slug=slug, name=str(tenant_id), state=TenantState.PENDING)
            tenant.full_clean()
            tenant.save()
        actions.create_tenant_lifecycle(tenant.pk, lifecycle_policy, actor=actor)
        return _describe(tenant.pk)

    def get_lifecycle_sync(self, tenant_id) -> dict:
        return _describe(_tenant(tenant_id).pk)

    def transition_sync(self, tenant_id, transition: str, *, actor: str = "") -> dict:
        """Start the transition's workflow; {"run": id, "state": run state}."""
        from lifecycle_mgr import actions

        run = actions.request_transition(_tenant(tenant_id).pk, transition, actor=actor)
        return {"run": run.pk, "state": run.state, "workflow": run.name}

    def quota_usage_sync(self, tenant_id) -> list[dict]:
        from lifecycle_mgr import quotas

        return quotas.usage(_tenant(tenant_id).pk)

    def tiers_sync(self) -> list[dict]:
        from lifecycle_mgr.api.serializers import TierPolicySerializer
        from lifecycle_mgr.selectors import tiers

        return list(TierPolicySerializer(tiers(), many=True).data)
