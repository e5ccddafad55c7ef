import pytest
from django.core.cache import cache

from tenancy.actions import do_bump_tenant_cache_generation
from tenancy.context import tenant_context


@pytest.mark.django_db
def test_same_key_in_two_tenants_never_collides(tenant_a, tenant_b):
    with tenant_context(tenant_a):
        cache.set("dashboard", "alpha's")
    with tenant_context(tenant_b):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "beta's")
    with tenant_context(tenant_a):
        assert cache.get("dashboard") == "alpha's"
    assert cache.get("dashboard") is None  # platform namespace is separate too


@pytest.mark.django_db
def test_bumping_generation_invalidates_only_that_tenant(tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        with tenant_context(tenant):
            cache.set("report", tenant.slug)
    do_bump_tenant_cache_generation(tenant_a)
    with tenant_context(tenant_a):
        assert cache.get("report") is None
    with tenant_context(tenant_b):
        assert cache.get("report") == "beta"


def test_cache_backend_matches_environment(settings):
    import os

    backend = settings.CACHES["default"]["BACKEND"]
    if os.environ.get("REDIS_URL"):
        assert backend == "django_redis.cache.RedisCache"
    else:
        assert backend.endswith("LocMemCache")
