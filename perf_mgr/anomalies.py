"""Anomaly detection on a tenant's metrics (issue 15, item 4), in the tenant in context.

Every ANOMALY_DETECTION_INTERVAL (beat, per tenant) each watched metric's average over
the last ANOMALY_OBSERVE_S is scored against the same hour of the week in the previous
ANOMALY_HISTORY_WEEKS weeks (ai_mgr.robust: median and MAD). History is read from the
hourly roll-ups (cheap: 168 rows a week per series); the observation averages a shorter
span, so the band is widened by sqrt(hour / span) (the spread of a mean grows as its
span shrinks).

Each run writes one `anomaly_score` sample per metric (labels `metric=<name>`), which
the alert rules read through the source registered in PerfMgrConfig.ready() (so the
seed's `anomaly_score > 0.9` fires); a score at or above ANOMALY_DETECTION_THRESHOLD is
also stored as a MetricAnomaly with its evidence and drivers (the other metrics that were
furthest from their own bands at the same moment).

`feature_frame(tenant, window)` is the seam for the multivariate per-tenant detector
(an IsolationForest trained through ai_mgr's registry): the same hourly averages, one
column per metric."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ai_mgr import robust
from perf_mgr import query
from perf_mgr.actions import do_ingest_batch
from perf_mgr.models import HOUR_US, MetricAnomaly, MetricSeries
from tenancy.context import require_tenant_id, tenant_context

SCORE_METRIC = "anomaly_score"
METHOD = "robust"
WEEK_US = 7 * 24 * HOUR_US


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


def score_all(now_us: int | None = None) -> dict[str, robust.Point]:
    """{metric: its robust verdict now}: the metrics with an observation and a history."""
    now_us = now_us if now_us is not None else int(timezone.now().timestamp() * 1e6)
    names = watched_metrics()
    weeks = _setting("ANOMALY_HISTORY_WEEKS", 4)
    observe_s = float(_setting("ANOMALY_OBSERVE_S", 900))
    history = hourly(names, now_us - weeks * WEEK_US, now_us, now_us=now_us)
    observed = recent(names, observe_s, now_us)
    scale = math.sqrt(3600.0 / observe_s)
    points = {}
    for name, value in observed.items():
        if name not in history:
            continue
        t, v = history[name]
        point = robust.evaluate(t, v, now_us / 1e6, value, weeks=weeks, sigma_scale=scale)
        if point is not None:
            points[name] = point
    return points


def drivers(points: dict[str, robust.Point], metric: str, top: int = 3) -> list[dict]:
    """The other metrics furthest outside their own bands at the same moment (|z| >= 2)."""
    others = [(name, p) for name, p in points.items() if name != metric and abs(p.z) >= 2]
    others.sort(key=lambda item: abs(item[1].z), reverse=True)
    return [
        {"metric": name, "observed": p.observed, "expected": p.median, "z": round(p.z, 3)}
        for name, p in others[:top]
    ]


def do_detect_anomalies(now: dt.datetime | None = None) -> dict:
    """Score the tenant's metrics now; write the scores and store the anomalies."""
    require_tenant_id("detecting anomalies")
    now = now or timezone.now()
    now_us = int(now.timestamp() * 1e6)
    points = score_all(now_us)
    threshold = float(_setting("ANOMALY_DETECTION_THRESHOLD", 0.95))
    samples = [
        {
            "name": SCORE_METRIC,
            "labels": {"metric": name},
            "value": point.score,
            "timestamp": now_us / 1e6,
            "category": "performance",
        }
        for name, point in points.items()
    ]
    if samples:
        do_ingest_batch(samples)
    observed_at = now.replace(second=0, microsecond=0)
    stored = 0
    for name, point in points.items():
        if point.score < threshold:
            continue
        try:
            with transaction.atomic():
                MetricAnomaly.objects.create(
                    metric=name,
                    method=METHOD,
                    observed_at=observed_at,
                    observed=point.observed,
                    expected=point.median,
                    lower=point.lower,
                    upper=point.upper,
                    score=point.score,
                    drivers=drivers(points, name),
                    evidence={
                        "z": round(point.z, 4),
                        "robust_sigma": point.sigma,
                        "seasonal": point.seasonal,
                        "basis": "hour of week" if point.seasonal else "whole window",
                        "history_weeks": _setting("ANOMALY_HISTORY_WEEKS", 4),
                        "observed_over_s": _setting("ANOMALY_OBSERVE_S", 900),
                        "threshold": threshold,
                    },
                )
            stored += 1
        except IntegrityError:  # this minute's anomaly is stored already (a rerun)
            pass
    return {"scored": len(points), "anomalies": stored}


def score_source(node) -> dict:
    """The alert rules' `anomaly_score` (perf_mgr.alerting.rules.register_source): the
    detector's latest scores. A bare `anomaly_score` (last_avg) reads the highest score
    of the last two detection runs, so a rule never falls between runs."""
    interval = float(_setting("ANOMALY_DETECTION_INTERVAL", 300.0))
    function = "max" if node.function == "last_avg" else node.function
    return query.evaluate(
        SCORE_METRIC,
        function,
        max(node.window_s, 2 * interval),
        labels=dict(node.labels) or None,
        by=list(node.by) or None,
    )


def band(metric: str, since_us: int, until_us: int) -> list[dict]:
    """The robust band of `metric` over [since, until) hour by hour (the dashboard's),
    each hour scored against the weeks before it."""
    weeks = _setting("ANOMALY_HISTORY_WEEKS", 4)
    history = hourly([metric], since_us - weeks * WEEK_US, until_us).get(metric)
    if history is None:
        return []
    t, v = history
    out = []
    for i in np.nonzero(t >= since_us / 1e6)[0]:
        point = robust.evaluate(t[:i], v[:i], float(t[i]), float(v[i]), weeks=weeks)
        if point is not None:
            out.append(point.as_dict())
    return out


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
