"""The in-process tier: bounds by entries and bytes, per-tenant quotas, and tenant-aware
eviction (the biggest tenant pays)."""

from cache_mgr.local import Entry, LocalTier


def _tier(max_entries=100, max_bytes=10_000, quota_keys=50, quota_bytes=5_000):
    return LocalTier(
        max_entries=max_entries,
        max_bytes=max_bytes,
        quota_keys=lambda tid: quota_keys,
        quota_bytes=lambda tid: quota_bytes,
    )


def _entry(value, size=10, deadline=1e9):
    return Entry(value, size, deadline, deadline, 0.0, (0, 0))


def test_local_tier_serves_until_the_deadline():
    tier = _tier()
    tier.put(1, ("ns", "k"), _entry("v", deadline=100.0))
    assert tier.get(1, ("ns", "k"), now=99.0).value == "v"
    assert tier.get(1, ("ns", "k"), now=100.0) is None
    assert tier.usage(1) == (0, 0)


def test_local_tier_keeps_tenants_apart():
    tier = _tier()
    tier.put(1, ("ns", "k"), _entry("alpha"))
    tier.put(2, ("ns", "k"), _entry("beta"))
    assert tier.get(1, ("ns", "k"), now=0).value == "alpha"
    assert tier.get(2, ("ns", "k"), now=0).value == "beta"
    assert tier.get(3, ("ns", "k"), now=0) is None


def test_local_tier_quota_evicts_the_tenants_least_recently_used():
    tier = _tier(quota_keys=3)
    for key in "abc":
        tier.put(1, ("ns", key), _entry(key))
    tier.get(1, ("ns", "a"), now=0)  # a is now the most recent
    tier.put(1, ("ns", "d"), _entry("d"))
    assert tier.get(1, ("ns", "b"), now=0) is None
    assert {k for k in "acd" if tier.get(1, ("ns", k), now=0)} == set("acd")
    assert tier.evictions[1] == 1


def test_local_tier_byte_quota_is_per_tenant():
    tier = _tier(quota_bytes=100)
    tier.put(1, ("ns", "big"), _entry("x", size=80))
    tier.put(1, ("ns", "more"), _entry("y", size=30))
    assert tier.usage(1) == (1, 30)
    tier.put(1, ("ns", "huge"), _entry("z", size=101))  # over the quota on its own
    assert tier.get(1, ("ns", "huge"), now=0) is None


def test_local_tier_global_bound_evicts_from_the_biggest_tenant():
    tier = _tier(max_entries=6, quota_keys=10)
    for i in range(5):
        tier.put(1, ("ns", f"busy{i}"), _entry(i, size=100))
    tier.put(2, ("ns", "quiet"), _entry("q", size=10))
    tier.put(2, ("ns", "quiet2"), _entry("q", size=10))
    assert tier.totals()[0] == 6
    assert tier.get(2, ("ns", "quiet"), now=0) is not None
    assert tier.get(2, ("ns", "quiet2"), now=0) is not None
    assert tier.usage(1)[0] == 4
    assert tier.get(1, ("ns", "busy0"), now=0) is None


def test_local_tier_replacing_the_only_entry_keeps_it():
    tier = _tier()
    tier.put(1, ("ns", "k"), _entry("old"))
    tier.put(1, ("ns", "k"), _entry("new"))
    assert tier.get(1, ("ns", "k"), now=0).value == "new"
    assert tier.usage(1) == (1, 10)


def test_local_tier_drops_one_namespace():
    tier = _tier()
    tier.put(1, ("a", "k"), _entry(1))
    tier.put(1, ("b", "k"), _entry(2))
    assert tier.drop_where(1, lambda item: item[0] == "a") == 1
    assert tier.get(1, ("a", "k"), now=0) is None
    assert tier.get(1, ("b", "k"), now=0).value == 2
