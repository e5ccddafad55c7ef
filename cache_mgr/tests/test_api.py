"""The tenant cache: fail closed without a tenant, tenants and namespaces apart, O(1)
invalidation, single flight, early refresh, refusals of bad calls. Runs on both the
embedded default (Django's local-memory cache as the shared tier) and Redis."""

import threading
import time

import pytest

from cache_mgr import actions, api, selectors, shared, tiers
from tenancy.context import tenant_context
from tenancy.exceptions import TenantContextMissing

pytestmark = pytest.mark.django_db


def test_cache_get_without_a_tenant_fails_closed():
    with pytest.raises(TenantContextMissing):
        api.get("k")
    with pytest.raises(TenantContextMissing):
        api.set("k", 1)
    with pytest.raises(TenantContextMissing):
        actions.do_invalidate_tenant()


def test_cache_same_key_in_two_tenants_never_meets(tenant_alpha, tenant_beta, coherent):
    with tenant_context(tenant_alpha):
        api.set("report", "alpha's report")
    with tenant_context(tenant_beta):
        assert api.get("report") is None
        api.set("report", "beta's report")
    with tenant_context(tenant_alpha):
        assert api.get("report") == "alpha's report"
    with tenant_context(tenant_beta):
        assert api.get("report") == "beta's report"


def test_cache_namespaces_are_apart_and_invalidate_alone(tenant_alpha, coherent):
    with tenant_context(tenant_alpha):
        api.set("k", "meta", namespace="metadata")
        api.set("k", "sess", namespace="sessions")
        actions.do_invalidate_namespace("metadata", actor="alice")
        assert api.get("k", namespace="metadata") is None
        assert api.get("k", namespace="sessions") == "sess"
        api.set("k", "meta2", namespace="metadata")
        assert api.get("k", namespace="metadata") == "meta2"


def test_cache_invalidate_tenant_drops_every_namespace_of_that_tenant_only(
    tenant_alpha, tenant_beta, coherent
):
    for tenant in (tenant_alpha, tenant_beta):
        with tenant_context(tenant):
            api.set("a", 1, namespace="metadata")
            api.set("b", 2)
    with tenant_context(tenant_alpha):
        actions.do_invalidate_tenant(actor="alice")
        assert api.get("a", namespace="metadata") is None and api.get("b") is None
    with tenant_context(tenant_beta):
        assert api.get("a", namespace="metadata") == 1 and api.get("b") == 2
    tenant_alpha.refresh_from_db()
    assert tenant_alpha.cache_generation == 1  # Django's cache keys of alpha moved on too


def test_cache_invalidation_is_audited(tenant_alpha):
    from tests.personas import audit_entries

    with tenant_context(tenant_alpha):
        actions.do_invalidate_namespace("pages", actor="alice")
    (entry,) = audit_entries(tenant_alpha, "cache.invalidated")
    assert entry.actor == "alice" and '"namespace":"pages"' in entry.data


def test_cache_delete_removes_the_key(tenant_alpha, coherent):
    with tenant_context(tenant_alpha):
        api.set("k", "v")
        assert api.delete("k") is True
        assert api.get("k", "gone") == "gone"


def test_cache_get_or_set_loads_once_for_concurrent_callers(tenant_alpha, coherent):
    calls = []
    started = threading.Barrier(4)

    def loader():
        calls.append(1)
        time.sleep(0.2)  # a slow query: the others must wait, not run it too
        return "loaded"

    results = []

    def worker():
        with tenant_context(tenant_alpha):
            started.wait()
            results.append(api.get_or_set("slow", loader, 60))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["loaded"] * 4
    assert len(calls) == 1


def test_cache_get_or_set_refreshes_early_near_expiry(tenant_alpha, coherent, monkeypatch):
    with tenant_context(tenant_alpha):
        assert api.get_or_set("hot", lambda: "v1", 60) == "v1"
        # A value that took 100 s to compute looks due for refresh (XFetch) to a caller
        # drawing a small random number; one that took no time never does.
        monkeypatch.setattr(api.random, "random", lambda: 1e-9)
        api.set("hot", "v1", 60, _delta=100.0)
        assert api.get_or_set("hot", lambda: "v2", 60) == "v2"
        assert api.get("hot") == "v2"
        api.set("cheap", "c1", 60, _delta=0.0)
        assert api.get_or_set("cheap", lambda: "c2", 60) == "c1"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: api.get("k", namespace="Bad NS"), "namespace"),
        (lambda: api.set("", 1), "non-empty strings"),
        (lambda: api.set("x" * 251, 1), "at most 250"),
        (lambda: api.set("k", 1, timeout=0), "timeout"),
        (lambda: api.set("k", 1, timeout=float("nan")), "timeout"),
        (lambda: api.set("k", 1, timeout="60"), "timeout"),
        (lambda: api.set(("tuple",), 1), "non-empty strings"),
    ],
)
def test_cache_refuses_bad_calls_with_the_fix(tenant_alpha, call, message):
    with tenant_context(tenant_alpha), pytest.raises(api.CacheUsageError, match=message):
        call()


def test_cache_a_forged_shared_value_is_a_miss_never_unpickled(tenant_alpha, coherent):
    with tenant_context(tenant_alpha):
        api.set("k", "good")
        st = tiers.state()
        gens = st.shared.generations(tenant_alpha.pk, "default")
        st.local.clear()
        forged = b"C1\x00" + b"\x00" * 32 + b"not ours"
        st.shared.set(
            tenant_alpha.pk,
            shared.shared_key(tenant_alpha.pk, gens, "default", "k"),
            forged,
            60,
            quota_keys=100,
            message=tiers.message_key(1, "default", "k"),
        )
        st.local.clear()
        assert api.get("k", "miss") == "miss"
        assert api.get_or_set("k", lambda: "reloaded", 60) == "reloaded"


def test_cache_statistics_count_per_namespace_and_tenant(tenant_alpha, tenant_beta, coherent):
    with tenant_context(tenant_alpha):
        api.set("k", 1, namespace="metadata")
        api.get("k", namespace="metadata")
        api.get("absent", namespace="metadata")
        tiers.state().flush_stats()
        api.get("k", namespace="metadata")  # unflushed: still counted
        stats = selectors.tenant_stats()
    row = {r["namespace"]: r for r in stats["namespaces"]}["metadata"]
    assert row["sets"] == 1 and row["misses"] == 1
    assert row["local_hits"] + row["shared_hits"] == 2 and row["reads"] == 3
    with tenant_context(tenant_beta):
        assert selectors.tenant_stats()["namespaces"] == []
