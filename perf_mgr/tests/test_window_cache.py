"""The analytics' window cache (perf_mgr/window_cache.py): the decoded roll-ups of a
window are reused while the tenant's roll-up cursor stays put, and the answers are
always those of the uncached read (new raw samples, a roll-up pass, another tenant)."""

import pytest

from perf_mgr import query, window_cache
from perf_mgr.actions import do_roll_up
from perf_mgr.analytics import get_analytics
from perf_mgr.models import HOUR_US, MINUTE_US, now_us
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db
REQ = "http_request_duration_seconds"


def _requests(view, values, start):
    labels = {"view": view, "method": "GET", "status": "2xx"}
    return [(REQ, labels, v, start + i * MINUTE_US) for i, v in enumerate(values)]


def _uncached_count(hours=24):
    """The requests' count of the window as `query.fetch_rows` reads it, no cache."""
    end = now_us()
    since = end - hours * HOUR_US
    since -= since % HOUR_US
    win = query.make_window(since, end, 3600, now_us=end)
    found = [s for s in query.find_series() if s.name == REQ]
    return sum(row[2] for row in query.fetch_rows(found, win))


@pytest.fixture
def start():
    now = now_us()
    return now - now % HOUR_US - 3 * HOUR_US


def test_window_cache_answers_like_the_uncached_read(tenant_alpha, write_samples, start):
    window_cache.clear()
    write_samples(tenant_alpha, _requests("v1:a", [0.01 * i for i in range(1, 41)], start))
    with tenant_context(tenant_alpha):
        do_roll_up()
        first = get_analytics(hours=24)
        before = window_cache.stats()
        second = get_analytics(hours=24)
        after = window_cache.stats()
        uncached = _uncached_count()
    assert after["hits"] == before["hits"] + 1
    assert first["metrics"][REQ] | {"throughput_per_s": 0} == second["metrics"][REQ] | {
        "throughput_per_s": 0
    }
    assert second["metrics"][REQ]["count"] == uncached == 40


def test_window_cache_adds_samples_written_after_it(tenant_alpha, write_samples, start):
    window_cache.clear()
    write_samples(tenant_alpha, _requests("v1:a", [0.01] * 10, start))
    with tenant_context(tenant_alpha):
        do_roll_up()
        assert get_analytics(hours=24)["metrics"][REQ]["count"] == 10
    write_samples(tenant_alpha, _requests("v1:a", [5.0] * 3, start + HOUR_US))
    with tenant_context(tenant_alpha):
        hits = window_cache.stats()["hits"]
        tail = get_analytics(hours=24)["metrics"][REQ]  # the raw tail, above the cursor
        assert window_cache.stats()["hits"] == hits + 1
        do_roll_up()  # the cursor moves: the cached roll-ups are stale
        rolled = get_analytics(hours=24)["metrics"][REQ]
        assert window_cache.stats()["hits"] == hits + 1
    assert tail["count"] == rolled["count"] == 13
    assert tail["max"] == rolled["max"] == 5.0


def test_window_cache_never_answers_for_another_tenant(
    tenant_alpha, tenant_beta, write_samples, start
):
    window_cache.clear()
    write_samples(tenant_alpha, _requests("v1:alpha", [0.5] * 20, start))
    write_samples(tenant_beta, _requests("v1:beta", [0.02] * 5, start))
    with tenant_context(tenant_alpha):
        do_roll_up()
        alpha = get_analytics(hours=24)
    with tenant_context(tenant_beta):
        do_roll_up()
        beta = get_analytics(hours=24)
        beta_again = get_analytics(hours=24)
    assert alpha["metrics"][REQ]["count"] == 20
    for result in (beta, beta_again):
        assert result["metrics"][REQ]["count"] == 5
        assert result["metrics"][REQ]["max"] == 0.02
        assert {v["view"] for v in result["slowest_views"]} <= {"v1:beta"}


def test_window_cache_sees_a_series_added_after_it(tenant_alpha, write_samples, start):
    window_cache.clear()
    write_samples(tenant_alpha, _requests("v1:a", [0.01] * 10, start))
    with tenant_context(tenant_alpha):
        do_roll_up()
        get_analytics(hours=24)
        assert set(get_analytics(hours=24)["metrics"]) == {REQ}
    write_samples(tenant_alpha, [("jobs_done", {"queue": "q"}, 2.0, start + HOUR_US)])
    with tenant_context(tenant_alpha):
        metrics = get_analytics(hours=24)["metrics"]
    assert metrics["jobs_done"]["count"] == 1
    assert metrics[REQ]["count"] == 10
