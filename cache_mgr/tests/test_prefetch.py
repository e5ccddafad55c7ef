"""Prefetching: keys read one after another are learned per tenant; a miss of the first
brings the second along, and its first read counts as a prefetch hit."""

import pytest

from cache_mgr import api, prefetch, selectors, tiers
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db


def _train(tenant, rounds=prefetch.MIN_SUPPORT):
    with tenant_context(tenant):
        api.set("order:1", "order", 60)
        api.set("customer:1", "customer", 60)
        for _ in range(rounds):
            api.get("order:1")
            api.get("customer:1")


def test_prefetch_brings_the_learned_successor_along(tenant_alpha, coherent):
    _train(tenant_alpha)
    tiers.state().local.clear()
    with tenant_context(tenant_alpha):
        assert api.get("order:1") == "order"
        assert tiers.state().local.usage(tenant_alpha.pk)[0] == 2  # customer came too
        assert api.get("customer:1") == "customer"
        stats = {r["namespace"]: r for r in selectors.tenant_stats()["namespaces"]}["default"]
        learned = selectors.tenant_stats()["prefetch"]["learned"]
    assert stats["prefetched"] == 1 and stats["prefetch_hits"] == 1
    assert stats["prefetch_gain"] > 0
    assert learned[0]["after"] == "default:order:1" and learned[0]["reads"] == "default:customer:1"


def test_prefetch_learns_per_tenant(tenant_alpha, tenant_beta, coherent):
    _train(tenant_alpha)
    with tenant_context(tenant_beta):
        api.set("order:1", "b-order", 60)
        api.set("customer:1", "b-customer", 60)
        tiers.state().local.clear()
        api.get("order:1")
        assert tiers.state().local.usage(tenant_beta.pk)[0] == 1  # nothing learned for beta
        assert selectors.tenant_stats()["prefetch"]["learned"] == []


def test_prefetch_can_be_switched_off(tenant_alpha, coherent, settings):
    settings.CACHE_PREFETCH_ENABLED = False
    _train(tenant_alpha)
    tiers.state().local.clear()
    with tenant_context(tenant_alpha):
        api.get("order:1")
        assert tiers.state().local.usage(tenant_alpha.pk)[0] == 1
        assert selectors.tenant_stats()["prefetch"]["enabled"] is False


def test_prefetch_model_needs_support_and_confidence():
    model = prefetch.CoAccess()
    now = 100.0
    for i in range(2):
        model.observe(1, "a", now + i)
        model.observe(1, "b", now + i + 0.1)
    assert model.predict(1, "a") == []  # seen twice: below the support
    model.observe(1, "a", now + 5)
    model.observe(1, "b", now + 5.1)
    assert model.predict(1, "a") == ["b"]
    model.observe(1, "a", now + 10)
    model.observe(1, "c", now + 12)  # outside the window: not a transition
    assert model.predict(1, "a") == ["b"]
