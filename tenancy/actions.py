"""Writes of the tenancy domain. Each owns its transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from tenancy.context import tenant_context
from tenancy.models import Membership, Role, Tenant, TenantSetting, TenantState
from tenancy.resolution import forget_memberships


@transaction.atomic
def do_create_tenant(*, slug: str, name: str, tier: str = "free", owner=None) -> Tenant:
    tenant = Tenant(slug=slug, name=name, tier=tier)
    tenant.full_clean()
    tenant.save()
    if owner is not None:
        do_add_member(tenant, owner, Role.OWNER)
    return tenant


@transaction.atomic
def do_add_member(tenant: Tenant, user, role: str = Role.MEMBER) -> Membership:
    # On PostgreSQL the database accepts a membership of `tenant` only with a proven
    # claim for it (tenancy/rls_platform.py): the write runs in the tenant's context.
    with tenant_context(tenant):
        membership, _ = Membership.objects.update_or_create(
            user=user, tenant=tenant, defaults={"role": Role(role)}
        )
    return membership


def do_set_tenant_state(tenant: Tenant, state: str) -> Tenant:
    tenant.state = TenantState(state)
    tenant.save(update_fields=["state", "updated_at"])
    return tenant


def do_bump_tenant_cache_generation(tenant: Tenant) -> int:
    """Invalidate every cache key of the tenant at once (see tenancy/cache.py)."""
    Tenant.objects.filter(pk=tenant.pk).update(cache_generation=F("cache_generation") + 1)
    tenant.refresh_from_db(fields=["cache_generation"])
    # update() sends no post_save: drop the cached memberships (which carry the tenant,
    # generation included) by hand, or requests would keep the old namespace.
    forget_memberships(Membership.objects.filter(tenant=tenant).values_list("user_id", flat=True))
    return tenant.cache_generation


@transaction.atomic
def do_set_tenant_setting(tenant: Tenant, key: str, value, description: str = ""):
    with tenant_context(tenant):
        setting, _ = TenantSetting.objects.update_or_create(
            key=key, defaults={"value": value, "description": description}
        )
        return setting


def get_or_create_user(username: str, *, password: str, email: str = "", **flags):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, **flags}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, created
