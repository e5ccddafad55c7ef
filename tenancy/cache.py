"""Cache keys namespaced per tenant, wired in as the cache's KEY_FUNCTION.

`t<tenant id>.g<generation>` prefixes every key made inside a tenant context, so the same
key in two tenants never collides, and bumping the tenant's generation
(`tenancy.actions.bump_tenant_cache_generation`) invalidates all of its keys at once
without scanning the cache. Keys made outside a tenant context live in `platform`.
"""

from tenancy.context import TenantRef, current_state


def tenant_namespace() -> str:
    state = current_state()
    if isinstance(state, TenantRef):
        return f"t{state.id}.g{state.cache_generation}"
    return "platform"


def make_tenant_key(key, key_prefix, version):
    return f"{key_prefix}:{version}:{tenant_namespace()}:{key}"
