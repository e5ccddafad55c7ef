"""Red team, Redis Cluster hash tags in cache keys (cache_mgr/shared.py): a key or
namespace a tenant controls, holding `{`, `}` or `:`, must neither reach another
tenant's entry nor move the tenant's keys into another tenant's hash slot."""

import pytest
from redis.crc import key_slot

from cache_mgr import api, shared
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def crafted(beta: int) -> list[str]:
    """Keys that, spliced after alpha's prefix, spell beta's entry or tag."""
    return [
        f"{{t{beta}}}",
        f"}}:0:default:0:secret{{t{beta}}}",
        f"x}}{{t{beta}}}:0:default:0:secret",
        f"dim:c:{{t{beta}}}:0:default:0:secret",
        "secret:0:default",
        ":secret",
    ]


def test_crafted_keys_never_reach_or_overwrite_another_tenant(tenant_alpha, tenant_beta):
    with tenant_context(tenant_beta):
        api.set("secret", "beta's", 300)
    with tenant_context(tenant_alpha):
        for key in crafted(tenant_beta.pk):
            assert api.get(key) is None, key
            api.set(key, "alpha's", 300)
            assert api.get(key) == "alpha's"  # positive control: alpha's own entry
            api.delete(key)
        assert api.get("secret") is None
    with tenant_context(tenant_beta):
        assert api.get("secret") == "beta's"


@pytest.mark.parametrize("namespace", ["a{t2}", "a}b", "a:0:b", "*", "{t1}", "A"])
def test_namespaces_with_tag_or_separator_characters_are_refused(tenant_alpha, namespace):
    with tenant_context(tenant_alpha), pytest.raises(api.CacheUsageError):
        api.get("k", namespace=namespace)


def test_the_first_hash_tag_is_always_the_tenant(tenant_alpha, tenant_beta):
    a, b = tenant_alpha.pk, tenant_beta.pk
    mine = key_slot(f"{{t{a}}}".encode())
    for key in crafted(b):
        built = shared.shared_key(a, (0, 0), "default", key)
        assert built.startswith(f"dim:c:{{t{a}}}:")
        assert key_slot(built.encode()) == mine, built
    assert key_slot(shared.generation_key(a, "default").encode()) == mine
    assert key_slot(shared.index_key(a).encode()) == mine
