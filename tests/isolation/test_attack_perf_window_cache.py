"""Red team, the analytics' window cache (perf_mgr/window_cache.py): decoded roll-ups of
tenant A kept in the process. Tenant B, in its own context, must never be answered from
them: not through the analytics, not by asking the cache for A's id."""

import pytest

from perf_mgr import query, store, window_cache
from perf_mgr.actions import do_roll_up
from perf_mgr.analytics import get_analytics
from perf_mgr.models import HOUR_US, MINUTE_US, now_us
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
NAME = "atk_latency_seconds"


def _write(tenant, value, count):
    now = now_us()
    start = now - now % HOUR_US - 2 * HOUR_US
    rows = [(NAME, (("view", "v"),), "custom", value, start + i * MINUTE_US) for i in range(count)]
    with tenant_context(tenant):
        store.write(rows)
        do_roll_up()


def _window():
    end = now_us()
    since = end - 24 * HOUR_US
    return query.make_window(since - since % HOUR_US, end, 3600, now_us=end)


def test_attack_perf_window_cache_other_tenant_gets_only_its_own(tenant_alpha, tenant_beta):
    window_cache.clear()
    _write(tenant_alpha, 9.0, 30)
    _write(tenant_beta, 0.5, 4)
    with tenant_context(tenant_alpha):
        alpha_series = query.find_series(NAME)
        get_analytics(hours=24)  # cached now
        assert window_cache.stats()["entries"] == 1
    with tenant_context(tenant_beta):
        metric = get_analytics(hours=24)["metrics"][NAME]
        assert (metric["count"], metric["max"]) == (4, 0.5)
        # Asking the cache for A's id and A's series, from B's context: read as B (row-
        # level security and the scoped reads answer nothing of A), never A's entry.
        frame = window_cache.frame(tenant_alpha.id, alpha_series, _window())
    assert frame.size == 0 or 9.0 not in set(frame.max.tolist())


ANALYTICS_PATHS = ["/api/v1/performance/analytics/", "/performance/analytics"]


def _names(response) -> set:
    return set(response.json().get("metrics", {}))


@pytest.mark.parametrize("path", ANALYTICS_PATHS)
def test_attack_perf_window_cache_b_member_naming_a_is_refused(
    tenant_alpha, tenant_beta, beta_admin, path
):
    """A's entry is warm in this process; B's admin names A in X-Tenant."""
    from tests.personas import api_as

    window_cache.clear()
    _write(tenant_alpha, 9.0, 30)
    with tenant_context(tenant_alpha):
        get_analytics(hours=24)
    response = api_as(beta_admin).get(path, {"hours": 24}, HTTP_X_TENANT=tenant_alpha.slug)
    assert response.status_code in (403, 404), response.content
    assert NAME.encode() not in response.content
    own = api_as(beta_admin, tenant_beta).get(path, {"hours": 24})
    assert own.status_code == 200 and NAME not in _names(own)


def test_attack_perf_window_cache_tenant_switch_in_one_process(
    tenant_alpha, tenant_beta, member_of_both
):
    """One user of both, one process: each request is answered from its own tenant's
    entry, in either order, warm or cold."""
    from tests.personas import api_as

    window_cache.clear()
    _write(tenant_alpha, 9.0, 30)
    _write(tenant_beta, 0.5, 4)
    seen = []
    for tenant in (tenant_alpha, tenant_beta, tenant_alpha, tenant_beta):
        response = api_as(member_of_both, tenant).get(ANALYTICS_PATHS[0], {"hours": 24})
        assert response.status_code == 200, response.content
        metric = response.json()["metrics"][NAME]
        seen.append((metric["count"], metric["max"]))
    assert seen == [(30, 9.0), (4, 0.5), (30, 9.0), (4, 0.5)]
    assert window_cache.stats()["hits"] >= 2  # the second round was answered from cache


def test_attack_perf_window_cache_dedicated_a_with_colliding_ids(
    tenant_alpha, tenant_beta, dedicate
):
    """A moves to a database of its own, whose ids restart: A's series and roll-ups may
    carry the same ids as B's in the default database. The entries are keyed by alias,
    and read under each tenant's own context: B never gets A's values, nor A B's."""
    window_cache.clear()
    dedicate(tenant_alpha)
    _write(tenant_alpha, 9.0, 30)
    _write(tenant_beta, 0.5, 4)
    with tenant_context(tenant_alpha):
        a_ids = [s.id for s in query.find_series(NAME)]
        assert get_analytics(hours=24)["metrics"][NAME]["max"] == 9.0
    with tenant_context(tenant_beta):
        b_ids = [s.id for s in query.find_series(NAME)]
        for _ in range(2):  # cold, then warm
            metric = get_analytics(hours=24)["metrics"][NAME]
            assert (metric["count"], metric["max"]) == (4, 0.5)
    with tenant_context(tenant_alpha):
        metric = get_analytics(hours=24)["metrics"][NAME]
        assert (metric["count"], metric["max"]) == (30, 9.0)
    assert a_ids and b_ids  # (the ids may or may not collide; either way nothing crosses)
