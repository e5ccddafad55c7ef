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

import numpy as np

from perf_mgr import bottlenecks, policy, process, query, recording, trends, window_cache
from perf_mgr.frame import Frame
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


class _View:
    """The series of a window and its Frame, with each row's series and name as indexes."""

    def __init__(self, found: list, frame: Frame, win: query.Window):
        self.found = found
        self.win = win
        self.frame = frame
        ids = np.fromiter((s.id for s in found), dtype=np.int64, count=len(found))
        order = np.argsort(ids)
        at = np.searchsorted(ids[order], self.frame.series) if len(found) else self.frame.series
        self.row_series = order[at] if len(found) else at
        self.names = sorted({s.name for s in found})
        index = {name: i for i, name in enumerate(self.names)}
        self.series_name = np.fromiter(
            (index[s.name] for s in found), dtype=np.int64, count=len(found)
        )
        self.row_name = self.series_name[self.row_series]

    def rows_of(self, wanted) -> np.ndarray:
        """A row mask: the rows of the series for which wanted(series) is true."""
        chosen = np.fromiter(
            (bool(wanted(s)) for s in self.found), dtype=bool, count=len(self.found)
        )
        return chosen[self.row_series] if len(self.found) else np.zeros(0, dtype=bool)

    def request_views(self, qs=(0.5, 0.95, 0.99)) -> dict[str, query.Agg]:
        """{view: Agg of its requests}, as `bottlenecks.request_views` merges them, with
        the quantiles the bottlenecks ask for computed for every view at once."""
        views = sorted({s.labels.get("view", "") for s in self.found if s.name == REQUEST})
        index = {v: i for i, v in enumerate(views)}
        of_series = np.fromiter(
            (index[s.labels.get("view", "")] if s.name == REQUEST else -1 for s in self.found),
            dtype=np.int64,
            count=len(self.found),
        )
        keys = of_series[self.row_series] if len(self.found) else self.row_series
        groups = self.frame.group(keys, len(views))
        values = groups.quantiles(list(qs))
        out = {}
        for i, view in enumerate(views):
            if groups.count[i]:
                agg = groups.agg(i)
                agg.known = {
                    q: None if np.isnan(values[i, j]) else float(values[i, j])
                    for j, q in enumerate(qs)
                }
                out[view] = agg
        return out

    def series_aggs(self) -> dict[int, query.Agg]:
        """{series id: Agg} of the series with data (bottlenecks read these)."""
        groups = self.frame.group(self.row_series, len(self.found))
        return {s.id: groups.agg(i) for i, s in enumerate(self.found) if groups.count[i]}


def _is_error(s) -> bool:
    return s.name == REQUEST and s.labels.get("status") == "5xx"


def _metrics(view: _View, seconds: float) -> dict:
    groups = view.frame.group(view.row_name, len(view.names))
    qs = groups.quantiles([0.5, 0.95, 0.99])
    out = {}
    for i, name in enumerate(view.names):
        count = int(groups.count[i])
        if not count:
            continue
        total = float(groups.sum[i])
        # NaN: no sketch entry (roll-ups without a sketch), as None like Agg answers.
        p50, p95, p99 = (None if np.isnan(v) else float(v) for v in qs[i])
        out[name] = {
            "count": count,
            "throughput_per_s": count / seconds if seconds > 0 else 0.0,
            "avg": total / count,
            "min": float(groups.min[i]),
            "max": float(groups.max[i]),
            "p50": p50,
            "p95": p95,
            "p99": p99,
        }
    if REQUEST in out:
        requests = int(view.frame.count[view.rows_of(lambda s: s.name == REQUEST)].sum())
        errors = int(view.frame.count[view.rows_of(_is_error)].sum())
        out[REQUEST]["error_rate"] = errors / requests if requests else 0.0
    return out


def _series_state(tenant_id: int) -> dict:
    guard = SeriesGuard.objects.first()
    return {
        "count": MetricSeries.objects.count(),
        "limit": policy.series_limit(tenant_id),
        "refused_total": guard.refused_total if guard else 0,
        "last_refused_name": guard.last_refused_name if guard else "",
    }


def _gather(tenants, win: query.Window) -> _View:
    """The window of the tenant in context, or of each of `tenants` (each read in its
    own tenant context; series ids are unique across tenants, so they add up)."""
    from tenancy.context import tenant_context

    if tenants is None:
        tenant_id = require_tenant_id("reading analytics")
        found, frame = window_cache.series_and_frame(tenant_id, win)
        return _View(found, frame, win)
    found, rows = [], []
    for tenant in tenants:
        with tenant_context(tenant):
            of_tenant = query.find_series()
            found.extend(of_tenant)
            rows.extend(query.fetch_rows(of_tenant, win))
    return _View(found, Frame(rows, win.since_us, win.step_us), win)


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
    view = _gather(tenants, win)
    return {
        **scope,
        "window_seconds": win.seconds,
        "metrics": _metrics(view, win.seconds),
        **_platform_state(),
    }


def _points(counts: np.ndarray, values: np.ndarray, step_s: float) -> tuple[list, list]:
    """x (hours from the window's start) and y of the buckets with data."""
    buckets = np.flatnonzero(counts > 0)
    return (buckets * step_s / 3600).tolist(), values[buckets].tolist()


def _trends(view: _View) -> dict:
    win, frame = view.win, view.frame
    n = win.buckets()
    step_s = (win.step_us or 0) / 1e6
    inside = (frame.bucket >= 0) & (frame.bucket < n)
    out = {}
    by_name = frame.group(
        np.where(inside, view.row_name * n + frame.bucket, -1), len(view.names) * n, sketches=False
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, name in enumerate(view.names):
            counts = by_name.count[i * n : (i + 1) * n]
            sums = by_name.sum[i * n : (i + 1) * n]
            out[f"{name}_trend"] = trends.trend(*_points(counts, sums / counts, step_s))
        requests = view.rows_of(lambda s: s.name == REQUEST) & inside
        per_bucket = frame.group(np.where(requests, frame.bucket, -1), n)
        p95 = per_bucket.quantiles([0.95])[:, 0]
        with_p95 = np.where(np.isnan(p95), 0, per_bucket.count)
        out["latency_trend"] = trends.trend(*_points(with_p95, p95, step_s))
        rate = per_bucket.count / step_s if step_s else per_bucket.count * 0.0
        out["throughput_trend"] = trends.trend(*_points(per_bucket.count, rate, step_s))
        errors = view.rows_of(_is_error) & inside
        bad = np.bincount(frame.bucket[errors], weights=frame.count[errors], minlength=n)
        share = bad / per_bucket.count
        out["error_rate_trend"] = trends.trend(*_points(per_bucket.count, share, step_s))
        cpu = view.rows_of(lambda s: s.name in CPU_METRICS) & inside
        of_cpu = frame.group(np.where(cpu, frame.bucket, -1), n, sketches=False)
        used = of_cpu.sum / step_s if step_s else of_cpu.sum * 0.0
        out["cpu_trend"] = trends.trend(*_points(of_cpu.count, used, step_s))
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
    view = _gather(tenants, win)
    aggs = view.series_aggs()
    views = view.request_views()
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
        "metrics": _metrics(view, win.seconds),
        "trends": _trends(view),
        "bottlenecks": bottlenecks.find(view.found, aggs, views),
        "slowest_views": bottlenecks.slowest_views(view.found, aggs, views=views),
    }
