"""The tenant's metrics as hourly frames, read from the roll-ups: what the anomaly
detectors score (perf_mgr/anomalies.py) and train on (perf_mgr/multivariate.py). Kept
apart from both so that neither imports the other's module."""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.conf import settings
from django.utils import timezone

from perf_mgr import query
from perf_mgr.models import HOUR_US, MetricSeries
from tenancy.context import tenant_context

SCORE_METRIC = "anomaly_score"


def _setting(name: str, default):
    return getattr(settings, name, default)


def watched_metrics() -> list[str]:
    """The tenant's metric names (its own scores excluded), at most ANOMALY_MAX_METRICS."""
    names = (
        MetricSeries.objects.exclude(name=SCORE_METRIC)
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )
    return list(names[: _setting("ANOMALY_MAX_METRICS", 20)])


def hourly(names, since_us: int, until_us: int, now_us=None) -> dict[str, tuple]:
    """{name: (hour starts in seconds, hourly averages)} over [since, until), all of a
    name's series merged (one read for every name)."""
    since_us -= since_us % HOUR_US
    found = query.find_series(names=list(names))
    if not found:
        return {}
    win = query.make_window(since_us, until_us, 3600, now_us=now_us)
    data = query.collect(found, win)
    merged: dict[tuple[str, int], query.Agg] = {}
    for s in found:
        for index in range(win.buckets()):
            agg = data.get((s.id, index))
            if agg is not None:
                merged.setdefault((s.name, index), query.Agg()).merge(agg)
    out: dict[str, tuple] = {}
    for (name, index), agg in sorted(merged.items()):
        times, values = out.setdefault(name, ([], []))
        times.append(win.bucket_start(index) / 1e6)
        values.append(agg.avg)
    return {n: (np.asarray(t), np.asarray(v, dtype=float)) for n, (t, v) in out.items()}


def recent(names, seconds: float, now_us: int) -> dict[str, float]:
    """{name: average over the last `seconds`} of the names with samples in it."""
    found = query.find_series(names=list(names))
    if not found:
        return {}
    win = query.make_window(now_us - int(seconds * 1e6), now_us, now_us=now_us)
    data = query.collect(found, win)
    merged: dict[str, query.Agg] = {}
    for s in found:
        if (s.id, 0) in data:
            merged.setdefault(s.name, query.Agg()).merge(data[(s.id, 0)])
    return {name: agg.avg for name, agg in merged.items() if agg.count}


def feature_frame(tenant, window: dt.timedelta | float) -> dict:
    """The seam for a multivariate detector: the tenant's hourly averages over the last
    `window` (a timedelta or seconds), one row per hour and one column per watched
    metric, NaN where a metric has no data that hour.

    Returns {"times": [hour start, seconds], "metrics": [name], "values": ndarray}."""
    seconds = window.total_seconds() if isinstance(window, dt.timedelta) else float(window)
    now_us = int(timezone.now().timestamp() * 1e6)
    with tenant_context(tenant):
        names = watched_metrics()
        data = hourly(names, now_us - int(seconds * 1e6), now_us, now_us=now_us)
    metrics = sorted(data)
    times = sorted({float(x) for name in metrics for x in data[name][0]})
    row = {t: i for i, t in enumerate(times)}
    values = np.full((len(times), len(metrics)), np.nan)
    for j, name in enumerate(metrics):
        for t, v in zip(*data[name], strict=True):
            values[row[float(t)], j] = v
    return {"times": times, "metrics": metrics, "values": values}
