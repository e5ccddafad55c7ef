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
