import pytest
from django.core.cache import cache

from tenancy.actions import do_bump_tenant_cache_generation
from tenancy.context import tenant_context


@pytest.mark.django_db
def test_same_key_in_two_tenants_never_collides(tenant_alpha, tenant_beta):
    with tenant_context(tenant_alpha):
        cache.set("dashboard", "alpha's")
    with tenant_context(tenant_beta):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "beta's")
    with tenant_context(tenant_alpha):
        assert cache.get("dashboard") == "alpha's"
    assert cache.get("dashboard") is None  # platform namespace is separate too


@pytest.mark.django_db
def test_bumping_generation_invalidates_only_that_tenant(tenant_alpha, tenant_beta):
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            cache.set("report", tenant.slug)
    do_bump_tenant_cache_generation(tenant_alpha)
    with tenant_context(tenant_alpha):
        assert cache.get("report") is None
    with tenant_context(tenant_beta):
        assert cache.get("report") == "beta"


def test_cache_backend_matches_environment(settings):
    import os

    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache
    from django_redis.cache import RedisCache

    # The configured classes count hits and misses (perf_mgr/cache_backends.py); what
    # they are underneath depends on the environment.
    backend = caches["default"]
    if os.environ.get("REDIS_URL"):
        assert isinstance(backend, RedisCache)
    else:
        assert isinstance(backend, LocMemCache)
