"""The seed's `get_current_performance()` and `get_analytics(hours)`, for the tenant in
context, read through the query API (perf_mgr/query.py).

- per metric: count, throughput (samples per second), avg, min, max, p50/p95/p99; the
  request metric also has its error rate (share of 5xx);
- trends: least-squares slope per hour with its 95 % interval (perf_mgr/trends.py), for
  every metric's average and for `latency_trend` (p95 of requests), `throughput_trend`
  (requests per second), `error_rate_trend` and `cpu_trend` (CPU seconds per second
  that the tenant's requests and tasks used: the tenant's share of the CPU);
- bottlenecks with evidence and a suggested fix (perf_mgr/bottlenecks.py).
"""

from __future__ import annotations

from perf_mgr import bottlenecks, policy, process, query, recording, trends
from perf_mgr.models import HOUR_US, MINUTE_US, MetricSeries, RollupCursor, SeriesGuard, now_us
from tenancy.context import get_current_tenant, require_tenant_id

REQUEST = "http_request_duration_seconds"
CPU_METRICS = ("http_request_cpu_seconds", "celery_task_cpu_seconds")
MAX_HOURS = 24 * 90


class AnalyticsError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def summary(agg: query.Agg, seconds: float) -> dict:
    p50, p95, p99 = agg.quantiles([0.5, 0.95, 0.99])
    return {
        "count": agg.count,
        "throughput_per_s": agg.rate(seconds),
        "avg": agg.avg,
        "min": agg.min,
        "max": agg.max,
        "p50": p50,
        "p95": p95,
        "p99": p99,
    }


def _errors(series_list, aggs_of) -> tuple[int, int]:
    total = errors = 0
    for s in series_list:
        if s.name != REQUEST:
            continue
        agg = aggs_of(s)
        total += agg.count
        if s.labels.get("status") == "5xx":
            errors += agg.count
    return errors, total


def _metrics(series_list, window_aggs: dict, seconds: float) -> dict:
    by_name: dict[str, query.Agg] = {}
    for s in series_list:
        agg = window_aggs.get(s.id)
        if agg is not None and agg.count:
            by_name.setdefault(s.name, query.Agg()).merge(agg)
    out = {name: summary(agg, seconds) for name, agg in sorted(by_name.items())}
    errors, total = _errors(series_list, lambda s: window_aggs.get(s.id, query.Agg()))
    if REQUEST in out:
        out[REQUEST]["error_rate"] = errors / total if total else 0.0
    return out


def _window_aggs(data: dict) -> dict[int, query.Agg]:
    merged: dict[int, query.Agg] = {}
    for (series_id, _index), agg in data.items():
        merged.setdefault(series_id, query.Agg()).merge(agg)
    return merged


def _series_state(tenant_id: int) -> dict:
    guard = SeriesGuard.objects.first()
    return {
        "count": MetricSeries.objects.count(),
        "limit": policy.series_limit(tenant_id),
        "refused_total": guard.refused_total if guard else 0,
        "last_refused_name": guard.last_refused_name if guard else "",
    }


def _gather(tenants, window_of):
    """(series, data) of the tenant in context, or of each of `tenants` (each read in
    its own tenant context; series ids are unique across tenants, so they merge)."""
    from tenancy.context import tenant_context

    if tenants is None:
        found = query.find_series()
        return found, query.collect(found, window_of())
    found, data = [], {}
    for tenant in tenants:
        with tenant_context(tenant):
            of_tenant = query.find_series()
            found.extend(of_tenant)
            data.update(query.collect(of_tenant, window_of()))
    return found, data


def _platform_state() -> dict:
    from perf_mgr.collectors import last_queue_depths

    return {
        "process": process.sample(),
        "buffer": {"pending": recording.pending(), "dropped": recording.dropped()},
        "queues": last_queue_depths(),
    }


def get_current_performance(window_s: int = 300, tenants=None) -> dict:
    """The last `window_s` seconds of the tenant in context (or of `tenants` together,
    for the platform's view), and this process."""
    end = now_us()
    win = query.make_window(end - window_s * 1_000_000, end, now_us=end)
    if tenants is None:
        tenant_id = require_tenant_id("get_current_performance()")
        tenant = get_current_tenant()
        cursor = RollupCursor.objects.first()
        scope = {
            "tenant": tenant.slug or tenant.id,
            "series": _series_state(tenant_id),
            "rollups": {"rolled_at": cursor.rolled_at if cursor else None},
        }
    else:
        scope = {"tenant": None, "tenants": len(tenants)}
    found, data = _gather(tenants, lambda: win)
    return {
        **scope,
        "window_seconds": win.seconds,
        "metrics": _metrics(found, _window_aggs(data), win.seconds),
        **_platform_state(),
    }


def _trend_points(series_list, data, win, pick) -> tuple[list, list]:
    """x (hours from the window's start) and y = pick(aggregated buckets) per bucket."""
    buckets: dict[int, list] = {}
    for s in series_list:
        for index in range(win.buckets()):
            agg = data.get((s.id, index))
            if agg is not None and agg.count:
                buckets.setdefault(index, []).append((s, agg))
    xs, ys = [], []
    step_s = (win.step_us or 0) / 1e6
    for index in sorted(buckets):
        value = pick(buckets[index], step_s)
        if value is not None:
            xs.append(index * step_s / 3600)
            ys.append(value)
    return xs, ys


def _merged(pairs, name=None):
    agg = query.Agg()
    for s, part in pairs:
        if name is None or s.name == name:
            agg.merge(part)
    return agg


def _trends(found, data, win) -> dict:
    out = {}
    names = sorted({s.name for s in found})
    for name in names:
        of_name = [s for s in found if s.name == name]
        xs, ys = _trend_points(of_name, data, win, lambda pairs, _: _merged(pairs).avg)
        out[f"{name}_trend"] = trends.trend(xs, ys)
    requests = [s for s in found if s.name == REQUEST]
    xs, ys = _trend_points(requests, data, win, lambda p, _: _merged(p).quantile(0.95))
    out["latency_trend"] = trends.trend(xs, ys)
    xs, ys = _trend_points(requests, data, win, lambda p, step: _merged(p).count / step)
    out["throughput_trend"] = trends.trend(xs, ys)

    def error_share(pairs, _step):
        total = sum(a.count for _, a in pairs)
        bad = sum(a.count for s, a in pairs if s.labels.get("status") == "5xx")
        return bad / total if total else None

    xs, ys = _trend_points(requests, data, win, error_share)
    out["error_rate_trend"] = trends.trend(xs, ys)
    cpu = [s for s in found if s.name in CPU_METRICS]
    xs, ys = _trend_points(cpu, data, win, lambda p, step: _merged(p).sum / step)
    out["cpu_trend"] = trends.trend(xs, ys)
    out["cpu_trend"]["measures"] = "CPU seconds per second used by the tenant's requests and tasks"
    return out


def get_analytics(hours: int = 24, tenants=None) -> dict:
    """The last `hours` hours of the tenant in context (or of `tenants` together): from
    the start of the hour for 3 hours or more (hourly points), from the start of the
    minute below that (minute points)."""
    if tenants is None:
        require_tenant_id("get_analytics()")
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_HOURS:
        raise AnalyticsError("invalid_hours", f"hours must be an integer from 1 to {MAX_HOURS}.")
    end = now_us()
    step = HOUR_US if hours >= 3 else MINUTE_US
    since = end - hours * HOUR_US
    since -= since % step
    win = query.make_window(since, end, step // 1_000_000, now_us=end)
    found, data = _gather(tenants, lambda: win)
    aggs = _window_aggs(data)
    tenant = get_current_tenant() if tenants is None else None
    return {
        "tenant": (tenant.slug or tenant.id) if tenant else None,
        "window": {
            "hours": hours,
            "since": win.since_us / 1e6,
            "until": min(win.until_us, end) / 1e6,
            "step_seconds": step // 1_000_000,
            "seconds": win.seconds,
        },
        "metrics": _metrics(found, aggs, win.seconds),
        "trends": _trends(found, data, win),
        "bottlenecks": bottlenecks.find(found, aggs),
        "slowest_views": bottlenecks.slowest_views(found, aggs),
    }
